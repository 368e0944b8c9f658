"""Mutation resolvers: decode the input, call one domain service, shape the payload."""

from __future__ import annotations

from collections import Counter
from typing import Any

from billing_center.domain import (
    cancellation,
    domains,
    licenses,
    models,
    payment_methods,
    product_keys,
    purchases,
    reactivation,
    subscriptions,
    tenants,
)
from billing_center.domain.billing import pay_now, runs
from billing_center.domain.billing.transitions import Transition
from billing_center.domain.payments import CardDetails
from billing_center.domain.actor import Actor
from billing_center.domain.errors import DomainError, ErrorCode
from billing_center.resolvers.context import Info
from billing_center.resolvers.errors import run_mutation
from billing_center.resolvers.queries import decode_id
from billing_center.schema import enums, inputs, payloads, types
from billing_center.schema.ids import to_global_id


def row_of(instance: models.Model) -> dict[str, Any]:
    """The column values of a freshly written entity, as `.values()` would return them."""
    return {column: getattr(instance, column) for column in instance._meta.fields_db_projection}


async def resolve_sign_up(info: Info, data: inputs.SignUpInput) -> payloads.SignUpPayload:
    """signUp: a tenant, its first global admin and their token (SPEC §1)."""

    async def work() -> payloads.SignUpPayload:
        result = await tenants.sign_up(
            tenants.SignUp(
                organization_name=data.organization_name,
                admin_display_name=data.admin_display_name,
                admin_email=data.admin_email,
                cloud=models.Cloud(data.cloud.value),
                billing_account_type=models.BillingAccountType(data.billing_account_type.value),
                charge_schedule=models.ChargeSchedule(data.charge_schedule.value),
                sandbox=data.sandbox,
                domain_prefix=data.domain_prefix,
            ),
            info.context.clock,
            allow_sandbox=info.context.allow_sandbox_tenants,
        )
        # The payload is read as the new admin, so its nested fields show their tenant.
        info.context.become(
            Actor.user(result.tenant.id, result.user.id, result.user.roles), result.tenant.clock_now
        )
        return payloads.SignUpPayload(
            tenant=types.Tenant.from_row(row_of(result.tenant)),
            user=types.User.from_row(row_of(result.user)),
            token=result.token,
            billing_account=types.BillingAccount.from_row(row_of(result.billing_account)),
            billing_profile=types.BillingProfile.from_row(row_of(result.billing_profile)),
        )

    return await run_mutation(payloads.SignUpPayload, work)


async def resolve_create_user(info: Info, data: inputs.CreateUserInput) -> payloads.CreateUserPayload:
    """createUser: a global admin adds a user and gets the user's first token."""

    async def work() -> payloads.CreateUserPayload:
        actor = info.context.require_actor()
        result = await tenants.create_user(
            actor, data.display_name, data.email, [models.Role(r.value) for r in data.roles],
            info.context.clock, info.context.wall_clock,
        )
        return payloads.CreateUserPayload(user=types.User.from_row(row_of(result.user)), token=result.token)

    return await run_mutation(payloads.CreateUserPayload, work)


def _license_target(data: inputs.AssignLicensesInput | inputs.UnassignLicensesInput) -> tuple[licenses.Target, list[int]]:
    target = licenses.Target(
        subscription_id=(
            decode_id(data.subscription_id, "Subscription", ("input", "subscriptionId"))
            if data.subscription_id is not None else None
        ),
        product_id=(
            decode_id(data.product_id, "Product", ("input", "productId"))
            if data.product_id is not None else None
        ),
        expected_version=data.expected_version,
    )
    user_ids = []
    for position, user_id in enumerate(data.user_ids):
        try:
            user_ids.append(decode_id(user_id, "User", ("input", "userIds", str(position))))
        except DomainError:
            # A malformed id reads like a user of another tenant (API.md).
            raise DomainError(
                ErrorCode.USER_NOT_IN_TENANT, "A user is not a user of your organization.",
                ("input", "userIds", str(position)),
            ) from None
    return target, user_ids


async def _license_payload(info: Info, change: licenses.LicenseChange, payload_type: type) -> Any:
    loaders = info.context.loaders
    subscriptions = [s for s in await loaders.subscription_by_id.load_many(change.subscription_ids) if s]
    assignment_ids = [o.assignment_id for o in change.outcomes if o.assignment_id is not None]
    assignments = {a.pk: a for a in await loaders.license_assignment_by_id.load_many(assignment_ids) if a}
    results = [
        payloads.LicenseAssignmentResult(
            user_id=to_global_id("User", o.user_id),
            outcome=enums.LicenseOutcome(o.outcome.value),
            assignment=assignments.get(o.assignment_id) if o.assignment_id else None,
        )
        for o in change.outcomes
    ]
    extra = {"assignments": list(assignments.values())} if payload_type is payloads.AssignLicensesPayload else {}
    return payload_type(
        results=results, subscription=subscriptions[0] if subscriptions else None,
        subscriptions=subscriptions, **extra,
    )


async def resolve_assign_licenses(info: Info, data: inputs.AssignLicensesInput) -> payloads.AssignLicensesPayload:
    """assignLicenses (SPEC §4)."""

    async def work() -> payloads.AssignLicensesPayload:
        actor = info.context.require_actor()
        target, user_ids = _license_target(data)
        change = await licenses.assign_licenses(actor, user_ids, target, info.context.clock)
        return await _license_payload(info, change, payloads.AssignLicensesPayload)

    return await run_mutation(payloads.AssignLicensesPayload, work)


async def resolve_unassign_licenses(info: Info, data: inputs.UnassignLicensesInput) -> payloads.UnassignLicensesPayload:
    """unassignLicenses (SPEC §4)."""

    async def work() -> payloads.UnassignLicensesPayload:
        actor = info.context.require_actor()
        target, user_ids = _license_target(data)
        change = await licenses.unassign_licenses(actor, user_ids, target, info.context.clock)
        return await _license_payload(info, change, payloads.UnassignLicensesPayload)

    return await run_mutation(payloads.UnassignLicensesPayload, work)


async def resolve_set_auto_renew(info: Info, data: inputs.SetAutoRenewInput) -> payloads.SetAutoRenewPayload:
    """setAutoRenew (SPEC §3, §5)."""

    async def work() -> payloads.SetAutoRenewPayload:
        actor = info.context.require_actor()
        subscription_id = decode_id(data.subscription_id, "Subscription", ("input", "subscriptionId"))
        await subscriptions.set_auto_renew(
            actor, subscription_id, data.auto_renew, info.context.clock, data.expected_version
        )
        return payloads.SetAutoRenewPayload(
            subscription=await info.context.loaders.subscription_by_id.load(subscription_id)
        )

    return await run_mutation(payloads.SetAutoRenewPayload, work)


async def resolve_add_payment_method(info: Info, data: inputs.AddPaymentMethodInput) -> payloads.PaymentMethodPayload:
    """addPaymentMethod (SPEC §2)."""

    async def work() -> payloads.PaymentMethodPayload:
        actor = info.context.require_actor()
        profile_id = decode_id(data.billing_profile_id, "BillingProfile", ("input", "billingProfileId"))
        card = data.card
        method_id = await payment_methods.add_payment_method(
            actor, profile_id,
            card_details(card),
            info.context.clock, info.context.gateway,
        )
        return payloads.PaymentMethodPayload(payment_method=await info.context.loaders.payment_method_by_id.load(method_id))

    return await run_mutation(payloads.PaymentMethodPayload, work)


async def resolve_update_payment_method(info: Info, data: inputs.UpdatePaymentMethodInput) -> payloads.PaymentMethodPayload:
    """updatePaymentMethod (SPEC §2)."""

    async def work() -> payloads.PaymentMethodPayload:
        actor = info.context.require_actor()
        method_id = decode_id(data.payment_method_id, "PaymentMethod", ("input", "paymentMethodId"))
        await payment_methods.update_payment_method(
            actor, method_id,
            payment_methods.CardEdit(
                security_code=data.security_code, expiry_month=data.expiry_month, expiry_year=data.expiry_year,
                name_on_card=data.name_on_card, address=data.address.to_json() if data.address else None,
            ),
            info.context.clock,
        )
        return payloads.PaymentMethodPayload(payment_method=await info.context.loaders.payment_method_by_id.load(method_id))

    return await run_mutation(payloads.PaymentMethodPayload, work)


async def resolve_replace_payment_method(info: Info, data: inputs.ReplacePaymentMethodInput) -> payloads.ReplacePaymentMethodPayload:
    """replacePaymentMethod (SPEC §2)."""

    async def work() -> payloads.ReplacePaymentMethodPayload:
        actor = info.context.require_actor()
        profile_id = decode_id(data.billing_profile_id, "BillingProfile", ("input", "billingProfileId"))
        method_id = decode_id(data.payment_method_id, "PaymentMethod", ("input", "paymentMethodId"))
        await payment_methods.replace_payment_method(actor, profile_id, method_id, info.context.clock)
        return payloads.ReplacePaymentMethodPayload(
            billing_profile=await info.context.loaders.billing_profile_by_id.load(profile_id)
        )

    return await run_mutation(payloads.ReplacePaymentMethodPayload, work)


async def resolve_add_domain(info: Info, data: inputs.AddDomainInput) -> payloads.AddDomainPayload:
    """addDomain (SPEC §1, §5)."""

    async def work() -> payloads.AddDomainPayload:
        actor = info.context.require_actor()
        subscription_id = (
            decode_id(data.subscription_id, "Subscription", ("input", "subscriptionId"))
            if data.subscription_id is not None else None
        )
        domain_id = await domains.add_domain(actor, data.name, subscription_id, info.context.clock)
        return payloads.AddDomainPayload(domain=await info.context.loaders.domain_by_id.load(domain_id))

    return await run_mutation(payloads.AddDomainPayload, work)


async def resolve_remove_domain(info: Info, data: inputs.RemoveDomainInput) -> payloads.RemoveDomainPayload:
    """removeDomain (SPEC §1, §5)."""

    async def work() -> payloads.RemoveDomainPayload:
        actor = info.context.require_actor()
        domain_id = decode_id(data.domain_id, "Domain", ("input", "domainId"))
        await domains.remove_domain(actor, domain_id, info.context.clock)
        return payloads.RemoveDomainPayload(removed_domain_id=data.domain_id)

    return await run_mutation(payloads.RemoveDomainPayload, work)


async def resolve_update_license_quantity(
    info: Info, data: inputs.UpdateLicenseQuantityInput
) -> payloads.UpdateLicenseQuantityPayload:
    """updateLicenseQuantity (SPEC §3, §7)."""

    async def work() -> payloads.UpdateLicenseQuantityPayload:
        actor = info.context.require_actor()
        subscription_id = decode_id(data.subscription_id, "Subscription", ("input", "subscriptionId"))
        change = await subscriptions.update_license_quantity(
            actor, subscription_id, data.total_licenses, info.context.clock,
            data.idempotency_key, data.expected_version, info.context.gateway,
        )
        loaders = info.context.loaders
        return payloads.UpdateLicenseQuantityPayload(
            subscription=await loaders.subscription_by_id.load(change.subscription_id),
            invoice_line=await loaders.invoice_line_by_id.load(change.invoice_line_id) if change.invoice_line_id else None,
            replayed=change.replayed,
        )

    return await run_mutation(payloads.UpdateLicenseQuantityPayload, work)


async def resolve_cancel_subscription(info: Info, data: inputs.CancelSubscriptionInput) -> payloads.CancelSubscriptionPayload:
    """cancelSubscription (SPEC §5)."""

    async def work() -> payloads.CancelSubscriptionPayload:
        actor = info.context.require_actor()
        subscription_id = decode_id(data.subscription_id, "Subscription", ("input", "subscriptionId"))
        done = await cancellation.cancel_subscription(
            actor, subscription_id, models.CancellationReason(data.reason.value), data.feedback,
            info.context.clock, data.idempotency_key, data.expected_version,
        )
        return payloads.CancelSubscriptionPayload(
            subscription=await info.context.loaders.subscription_by_id.load(done.subscription_id),
            credit=types.Money.from_amount(done.credit, done.currency), replayed=done.replayed,
        )

    return await run_mutation(payloads.CancelSubscriptionPayload, work)



async def resolve_issue_product_keys(info: Info, data: inputs.IssueProductKeysInput) -> payloads.IssueProductKeysPayload:
    """issueProductKeys (operator, SPEC §5)."""

    async def work() -> payloads.IssueProductKeysPayload:
        actor = info.context.require_actor()
        keys = await product_keys.issue_product_keys(actor, product_keys.KeyBatch(
            product_id=decode_id(data.product_id, "Product", ("input", "productId")), count=data.count,
            cloud=models.Cloud(data.cloud.value), quantity=data.quantity,
            commitment_term=models.CommitmentTerm(data.commitment_term.value), valid_days=data.valid_days,
        ), info.context.clock)
        return payloads.IssueProductKeysPayload(keys=keys)

    return await run_mutation(payloads.IssueProductKeysPayload, work)


async def resolve_redeem_product_key(info: Info, data: inputs.RedeemProductKeyInput) -> payloads.RedeemProductKeyPayload:
    """redeemProductKey (SPEC §5)."""

    async def work() -> payloads.RedeemProductKeyPayload:
        actor = info.context.require_actor()
        subscription_id, replayed = await product_keys.redeem_product_key(
            actor, data.product_key, info.context.clock, data.idempotency_key
        )
        return payloads.RedeemProductKeyPayload(
            subscription=await info.context.loaders.subscription_by_id.load(subscription_id), replayed=replayed
        )

    return await run_mutation(payloads.RedeemProductKeyPayload, work)


def _transition(transition: Transition, loaded: dict[str, dict]) -> payloads.ClockTransition:
    return payloads.ClockTransition(
        at=transition.at, kind=enums.TransitionKind(transition.kind.value),
        subscription=loaded["subscriptions"].get(transition.subscription_id),
        invoice=loaded["invoices"].get(transition.invoice_id), description=transition.description,
    )


async def resolve_advance_clock(info: Info, data: inputs.AdvanceClockInput) -> payloads.AdvanceClockPayload:
    """advanceClock (SPEC §7, sandbox tenants)."""

    async def work() -> payloads.AdvanceClockPayload:
        actor = info.context.require_actor()
        done = await runs.advance_clock(actor, data.to, info.context.gateway)
        # The payload is read at the new moment (timelines, deadlines, dates).
        info.context.become(actor, done.now)
        loaders = info.context.loaders
        subscription_ids = sorted({t.subscription_id for t in done.transitions if t.subscription_id is not None})
        invoice_ids = sorted({t.invoice_id for t in done.transitions if t.invoice_id is not None})
        loaded = {
            "subscriptions": dict(zip(subscription_ids, await loaders.subscription_by_id.load_many(subscription_ids))),
            "invoices": dict(zip(invoice_ids, await loaders.invoice_by_id.load_many(invoice_ids))),
        }
        if info.context.points is not None:
            # Work already done is paid for: the caller's next requests wait for it.
            info.context.points.spend(info.context.caller, len(done.transitions), info.context.wall_now())
        return payloads.AdvanceClockPayload(now=done.now, complete=done.complete,
                                            transitions=[_transition(t, loaded) for t in done.transitions])

    return await run_mutation(payloads.AdvanceClockPayload, work)


async def resolve_run_billing(info: Info, data: inputs.RunBillingInput | None) -> payloads.RunBillingPayload:
    """runBilling (SPEC §7, operator)."""

    async def work() -> payloads.RunBillingPayload:
        actor = info.context.require_actor()
        tenant_id = (decode_id(data.tenant_id, "Tenant", ("input", "tenantId"))
                     if data is not None and data.tenant_id is not None else None)
        done = await runs.run_billing(actor, info.context.clock, info.context.gateway, tenant_id)
        counts = Counter(t.kind for t in done.transitions)
        return payloads.RunBillingPayload(processed=len(done.transitions), counts=[
            payloads.TransitionCount(kind=enums.TransitionKind(kind.value), count=count)
            for kind, count in sorted(counts.items(), key=lambda item: item[0].value)
        ], failures=[payloads.BillingFailure(tenant_id=to_global_id("Tenant", failure.tenant_id), day=failure.day,
                                             error=failure.error) for failure in done.failures])

    return await run_mutation(payloads.RunBillingPayload, work)


def card_details(card: inputs.CardInput) -> CardDetails:
    """A card input as the domain takes it."""
    return CardDetails(card.number, card.security_code, card.expiry_month, card.expiry_year,
                       card.name_on_card, card.address.to_json() if card.address else None)


async def resolve_purchase_subscription(
    info: Info, data: inputs.PurchaseSubscriptionInput
) -> payloads.PurchaseSubscriptionPayload:
    """purchaseSubscription (SPEC §3, §6, §7)."""

    async def work() -> payloads.PurchaseSubscriptionPayload:
        actor = info.context.require_actor()
        request = purchases.PurchaseRequest(
            product_id=decode_id(data.product_id, "Product", ("input", "productId")),
            quantity=data.quantity,
            commitment_term=models.CommitmentTerm(data.commitment_term.value),
            billing_account_id=(decode_id(data.billing_account_id, "BillingAccount", ("input", "billingAccountId"))
                                if data.billing_account_id is not None else None),
            payment_method_id=(decode_id(data.payment_method_id, "PaymentMethod", ("input", "paymentMethodId"))
                               if data.payment_method_id is not None else None),
            new_payment_method=card_details(data.new_payment_method) if data.new_payment_method else None,
            trial=data.trial,
            idempotency_key=data.idempotency_key,
        )
        done = await purchases.purchase_subscription(actor, request, info.context.clock, info.context.gateway)
        loaders = info.context.loaders
        return payloads.PurchaseSubscriptionPayload(
            subscription=await loaders.subscription_by_id.load(done.subscription_id),
            invoice=await loaders.invoice_by_id.load(done.invoice_id) if done.invoice_id else None,
            invoice_line=await loaders.invoice_line_by_id.load(done.invoice_line_id) if done.invoice_line_id else None,
            replayed=done.replayed,
        )

    return await run_mutation(payloads.PurchaseSubscriptionPayload, work)


async def resolve_set_self_service_policy(
    info: Info, data: inputs.SetSelfServicePolicyInput
) -> payloads.SetSelfServicePolicyPayload:
    """setSelfServicePolicy (SPEC §6)."""

    async def work() -> payloads.SetSelfServicePolicyPayload:
        actor = info.context.require_actor()
        product_id = decode_id(data.product_id, "Product", ("input", "productId"))
        policy = models.SelfServicePolicy(data.policy.value)
        await purchases.set_self_service_policy(actor, product_id, policy, info.context.clock)
        return payloads.SetSelfServicePolicyPayload(
            product=await info.context.loaders.product_by_id.load(product_id), policy=data.policy
        )

    return await run_mutation(payloads.SetSelfServicePolicyPayload, work)


async def resolve_reactivate_subscription(
    info: Info, data: inputs.ReactivateSubscriptionInput
) -> payloads.ReactivateSubscriptionPayload:
    """reactivateSubscription (SPEC §5)."""

    async def work() -> payloads.ReactivateSubscriptionPayload:
        actor = info.context.require_actor()
        done = await reactivation.reactivate_subscription(
            actor, decode_id(data.subscription_id, "Subscription", ("input", "subscriptionId")),
            info.context.clock, info.context.gateway,
            payment_method_id=(decode_id(data.payment_method_id, "PaymentMethod", ("input", "paymentMethodId"))
                               if data.payment_method_id is not None else None),
            new_payment_method=card_details(data.new_payment_method) if data.new_payment_method else None,
            idempotency_key=data.idempotency_key, expected_version=data.expected_version,
        )
        loaders = info.context.loaders
        return payloads.ReactivateSubscriptionPayload(
            subscription=await loaders.subscription_by_id.load(done.subscription_id),
            previous_subscription=await loaders.subscription_by_id.load(done.previous_subscription_id),
            replayed=done.replayed,
        )

    return await run_mutation(payloads.ReactivateSubscriptionPayload, work)


async def resolve_pay_invoice(info: Info, data: inputs.PayInvoiceInput) -> payloads.PayInvoicePayload:
    """payInvoice (SPEC §7)."""

    async def work() -> payloads.PayInvoicePayload:
        actor = info.context.require_actor()
        payment = await pay_now.pay_invoice(
            actor, decode_id(data.invoice_id, "Invoice", ("input", "invoiceId")),
            decode_id(data.payment_method_id, "PaymentMethod", ("input", "paymentMethodId")),
            info.context.clock, info.context.gateway, data.idempotency_key,
        )
        return payloads.PayInvoicePayload(
            invoice=await info.context.loaders.invoice_by_id.load(payment.invoice_id), replayed=payment.replayed
        )

    return await run_mutation(payloads.PayInvoicePayload, work)
