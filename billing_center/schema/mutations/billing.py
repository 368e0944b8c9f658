"""Inputs and payloads of the mutations of money over time: advanceClock (and the
transitions it reports), runBilling (and its counts and failures), payInvoice."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from billing_center.schema import enums
from billing_center.schema.errors import UserError
from billing_center.schema.types import Invoice, Subscription


@strawberry.input(description="Where to move a sandbox tenant's test clock.")
class AdvanceClockInput:
    to: datetime = strawberry.field(description="The new moment, with its time zone; not before the clock's current moment, at most 3 years ahead.")


@strawberry.type(description="Result of `advanceClock`.")
class AdvanceClockPayload:
    now: datetime | None = strawberry.field(default=None, description="The sandbox clock after the move.")
    complete: bool = strawberry.field(default=True, description="False when the work one call may do (200 transitions) ran out before `to`: the clock stopped at the end of that day (`now`); call again with the same `to` to carry on. The work done is charged to your rate limit, a point per transition.")
    transitions: list[ClockTransition] = strawberry.field(default_factory=list, description="What the billing engine did on the way, in order.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why the clock did not move, if so.")


@strawberry.type(description="One thing the billing engine did.")
class ClockTransition:
    at: datetime = strawberry.field(description="When it happened, on the tenant's clock.")
    kind: enums.TransitionKind = strawberry.field(description="What happened.")
    subscription: Subscription | None = strawberry.field(default=None, description="The subscription it happened to, if any.")
    invoice: Invoice | None = strawberry.field(default=None, description="The invoice it happened to, if any.")
    description: str = strawberry.field(description="What happened, in words (amounts, dates, why).")


@strawberry.input(description="Which live tenants to bill up to now (operator only).")
class RunBillingInput:
    tenant_id: strawberry.ID | None = strawberry.field(default=None, description="Only this live tenant; by default every live tenant.")


@strawberry.type(description="Result of `runBilling`.")
class RunBillingPayload:
    processed: int = strawberry.field(default=0, description="How many transitions the engine made (renewals, expiries, invoices, charges, ...).")
    counts: list[TransitionCount] = strawberry.field(default_factory=list, description="The transitions by kind.")
    failures: list[BillingFailure] = strawberry.field(default_factory=list, description="Tenants whose day could not be processed: each was recorded and skipped, and every other tenant was billed. The next run tries them again.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why billing did not run, if so.")


@strawberry.type(description="A tenant the billing engine skipped because processing one of its days failed.")
class BillingFailure:
    tenant_id: strawberry.ID = strawberry.field(description="The tenant's global id.")
    day: date = strawberry.field(description="The day that could not be processed.")
    error: str = strawberry.field(description="What went wrong (for the operator; also in the service log).")


@strawberry.type(description="How many transitions of one kind a billing run made.")
class TransitionCount:
    kind: enums.TransitionKind = strawberry.field(description="What happened.")
    count: int = strawberry.field(description="How many times.")


@strawberry.input(description="Pay an open or past-due invoice now.")
class PayInvoiceInput:
    invoice_id: strawberry.ID = strawberry.field(description="The invoice.")
    payment_method_id: strawberry.ID = strawberry.field(description="Any card of the invoice's billing account.")
    idempotency_key: str | None = strawberry.field(default=None, description="Repeat a call safely: the same key and input return the first result (1-255 characters).")


@strawberry.type(description="Result of `payInvoice`.")
class PayInvoicePayload:
    invoice: Invoice | None = strawberry.field(default=None, description="The invoice, PAID when the charge succeeded.")
    replayed: bool = strawberry.field(default=False, description="True when this is the stored result of an earlier call with the same idempotency key.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why it is not paid, if so (a declined charge is recorded as a failed attempt).")
