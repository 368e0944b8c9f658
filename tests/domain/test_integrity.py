"""`billing-center check` catches money booked wrongly (SPEC §7 the ledger rule; issue: money
you can trust): each test books a sound history through the services, plants one defect of
the kind the engine once had, and expects the check to name it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from billing_center.domain import cancellation, integrity, models, purchases
from billing_center.domain.payment_gateway import SandboxGateway
from tests import factories


async def _bought(clock) -> tuple[factories.Org, models.InvoiceLine]:
    """A RENEWAL_DAY tenant that bought E3 x 4 (92.00, paid at once); the check passes."""
    org = await factories.sign_up(clock, charge_schedule=models.ChargeSchedule.RENEWAL_DAY)
    await factories.add_card(org, clock)
    product = await models.Product.get(sku="O365_E3")
    bought = await purchases.purchase_subscription(org.actor, purchases.PurchaseRequest(
        product_id=product.id, quantity=4, commitment_term=models.CommitmentTerm.MONTHLY), clock, SandboxGateway())
    assert await integrity.violations(org.tenant.id, clock.now().date()) == []
    return org, await models.InvoiceLine.get(id=bought.invoice_line_id)


def _copy(line: models.InvoiceLine, **changes) -> dict:
    fields = ("tenant_id", "billing_profile_id", "invoice_id", "subscription_id", "kind", "description", "quantity",
              "unit_price", "amount", "currency", "period_start", "period_end", "explanation", "charge_on",
              "created_at")
    return {**{name: getattr(line, name) for name in fields}, **changes}


async def test_a_day_charged_twice_is_reported(database, clock):
    org, line = await _bought(clock)
    await models.InvoiceLine.create(**_copy(line, invoice_id=None, charge_on=line.charge_on + timedelta(days=1)))
    found = await integrity.violations(org.tenant.id, clock.now().date())
    assert any("8 licence(s) paid for but 4 in paid service" in v for v in found), found


async def test_a_stranded_credit_is_reported(database, clock):
    org, line = await _bought(clock)
    clock.set(clock.now() + timedelta(days=40))
    await models.InvoiceLine.create(**_copy(line, invoice_id=None, kind=models.InvoiceLineKind.PRORATED_CREDIT,
                                            amount=Decimal("-5.00"), quantity=0,
                                            charge_on=clock.now().date() - timedelta(days=35)))
    found = await integrity.violations(org.tenant.id, clock.now().date())
    assert any("credit line" in v and "held back" in v for v in found), found


async def test_a_disabled_day_charged_is_reported(database, clock):
    org, line = await _bought(clock)
    clock.set(clock.now() + timedelta(days=3))
    await cancellation.cancel_subscription(org.actor, line.subscription_id, models.CancellationReason.OTHER, None,
                                           clock)
    # The credit for the cancelled days is gone: those days stay charged.
    await models.InvoiceLine.filter(kind=models.InvoiceLineKind.PRORATED_CREDIT).delete()
    found = await integrity.violations(org.tenant.id, clock.now().date())
    assert any("4 licence(s) paid for but 0 in paid service" in v for v in found), found


async def test_a_seat_in_service_unpaid_is_reported(database, clock):
    org, line = await _bought(clock)
    await models.ServiceLevel.create(tenant_id=org.tenant.id, subscription_id=line.subscription_id,
                                     since=clock.now().date(), licences=6, reason=models.ServiceChange.LICENCES_CHANGED)
    found = await integrity.violations(org.tenant.id, clock.now().date())
    assert any("4 licence(s) paid for but 6 in paid service" in v for v in found), found


async def test_money_collected_twice_is_reported(database, clock):
    org, line = await _bought(clock)
    attempt = await models.PaymentAttempt.get(invoice_id=line.invoice_id)
    await models.PaymentAttempt.create(
        tenant_id=org.tenant.id, invoice_id=line.invoice_id, payment_method_id=attempt.payment_method_id,
        amount=attempt.amount, currency="USD", status=models.PaymentAttemptStatus.SUCCEEDED,
        gateway_idempotency_key="planted", attempted_at=clock.now())
    found = await integrity.violations(org.tenant.id, clock.now().date())
    assert any("collected 184.00" in v for v in found), found
    assert any("collected - refunded is 184.00 but invoiced - due is 92.00" in v for v in found), found
