"""Mutations of money over time: running the billing engine, a sandbox's test clock, paying
an invoice now (SPEC §7)."""

from __future__ import annotations

from collections import Counter

from billing_center.domain.actor import Actor
from billing_center.domain.billing import pay_now, runs
from billing_center.domain.billing.transitions import Transition
from billing_center.resolvers.context import Context
from billing_center.resolvers.mutations.registration import input_id, mutation
from billing_center.schema import enums
from billing_center.schema.ids import to_global_id
from billing_center.schema.mutations import billing as schema


def _transition(transition: Transition, loaded: dict[str, dict]) -> schema.ClockTransition:
    return schema.ClockTransition(
        at=transition.at, kind=enums.TransitionKind(transition.kind.value),
        subscription=loaded["subscriptions"].get(transition.subscription_id),
        invoice=loaded["invoices"].get(transition.invoice_id), description=transition.description,
    )


@mutation("Move a sandbox tenant's test clock forward and run everything due up to the new moment: renewals, "
          "charges, retries, expiry... (global and billing admins of sandbox tenants). "
          "Live tenants get CLOCK_NOT_SANDBOX.",
          input="The new moment.")
async def advance_clock(actor: Actor, ctx: Context, data: schema.AdvanceClockInput) -> schema.AdvanceClockPayload:
    """advanceClock (SPEC §7, sandbox tenants)."""
    done = await runs.advance_clock(actor, data.to, ctx.gateway)
    # The payload is read at the new moment (timelines, deadlines, dates).
    ctx.become(actor, done.now)
    loaders = ctx.loaders
    subscription_ids = sorted({t.subscription_id for t in done.transitions if t.subscription_id is not None})
    invoice_ids = sorted({t.invoice_id for t in done.transitions if t.invoice_id is not None})
    loaded = {
        "subscriptions": dict(zip(subscription_ids, await loaders.subscription_by_id.load_many(subscription_ids))),
        "invoices": dict(zip(invoice_ids, await loaders.invoice_by_id.load_many(invoice_ids))),
    }
    if ctx.points is not None:
        # Work already done is paid for: the caller's next requests wait for it.
        ctx.points.spend(ctx.caller, len(done.transitions), ctx.wall_now())
    return schema.AdvanceClockPayload(now=done.now, complete=done.complete,
                                      transitions=[_transition(t, loaded) for t in done.transitions])


@mutation("Run the billing engine for every live tenant up to now (platform operator only); also "
          "`billing-center run-billing`. Running it twice changes nothing the second time.",
          input="Optionally one live tenant.")
async def run_billing(actor: Actor, ctx: Context, data: schema.RunBillingInput | None) -> schema.RunBillingPayload:
    """runBilling (SPEC §7, operator)."""
    done = await runs.run_billing(actor, ctx.clock, ctx.gateway, input_id(data, "tenant_id", "Tenant"))
    counts = Counter(t.kind for t in done.transitions)
    return schema.RunBillingPayload(processed=len(done.transitions), counts=[
        schema.TransitionCount(kind=enums.TransitionKind(kind.value), count=count)
        for kind, count in sorted(counts.items(), key=lambda item: item[0].value)
    ], failures=[schema.BillingFailure(tenant_id=to_global_id("Tenant", failure.tenant_id), day=failure.day,
                                       error=failure.error) for failure in done.failures])


@mutation("Pay an open or past-due invoice now with any card of its billing account. Accepts an idempotency key.",
          input="The invoice and the card.")
async def pay_invoice(actor: Actor, ctx: Context, data: schema.PayInvoiceInput) -> schema.PayInvoicePayload:
    """payInvoice (SPEC §7)."""
    payment = await pay_now.pay_invoice(
        actor, input_id(data, "invoice_id", "Invoice"), input_id(data, "payment_method_id", "PaymentMethod"),
        ctx.clock, ctx.gateway, data.idempotency_key,
    )
    return schema.PayInvoicePayload(
        invoice=await ctx.loaders.invoice_by_id.load(payment.invoice_id), replayed=payment.replayed
    )
