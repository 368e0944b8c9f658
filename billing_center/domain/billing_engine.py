"""The billing engine (SPEC §3, §5, §7): everything that happens because time passes.

`run(scope, until)` processes everything due up to `until`, one day at a time in calendar
order, so that a run over three months gives the same history as ninety daily runs:

1. term ends: renew (a RENEWAL line), convert a trial, or expire (§3, §5 Trials);
2. lifecycle timers: EXPIRED for 30 days → DISABLED, DISABLED for 90 days → DELETED (§3);
3. invoices: per billing profile, every outstanding line whose charge day has come, credits
   included, goes on one numbered invoice (§7). Credits that outweigh the charges wait for
   the next invoice with charges (the account's credit balance);
4. charges and dunning: open invoices are charged, failures retried 1, 3 and 7 days after
   the first; when the last retry fails, the invoice's subscriptions are DISABLED with
   NON_PAYMENT (§7).

Every step is conditional on the state it changes, so running twice for one moment changes
nothing the second time. Rows are claimed with `SELECT ... FOR UPDATE SKIP LOCKED` inside
short transactions (PostgreSQL; SQLite has one writer at a time), and an invoice being
charged carries a lease, so two engine processes never process one item twice. Charges run
outside any transaction; their gateway key makes a retried charge a no-op at the gateway.
Lists are processed set-wise (a few statements per step whatever the number of rows).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q, Subquery
from tortoise.functions import Count, Min
from tortoise.transactions import in_transaction

from billing_center.domain import audit, bulk, dunning, models
from billing_center.domain.clock import Clock, SystemClock
from billing_center.domain.lifecycle import DISABLED_PERIOD, EXPIRED_PERIOD
from billing_center.domain.payments import ChargeResult, PaymentGateway
from billing_center.domain.renewals import TermEndOutcome, next_charge_on, plan_term_end

log = logging.getLogger("billing_center.billing")
# A charge in flight is someone else's for this long; after a crash it is taken over and
# charged again with the same gateway key (charged once).
CHARGE_LEASE = timedelta(minutes=10)
BATCH = 500
PAYABLE = (models.InvoiceStatus.OPEN, models.InvoiceStatus.PAST_DUE)
Status = models.SubscriptionStatus


class TransitionKind(str, Enum):
    """What the engine did."""

    RENEWED = "RENEWED"
    TRIAL_CONVERTED = "TRIAL_CONVERTED"
    EXPIRED = "EXPIRED"
    DISABLED = "DISABLED"
    DELETED = "DELETED"
    INVOICE_ISSUED = "INVOICE_ISSUED"
    PAYMENT_SUCCEEDED = "PAYMENT_SUCCEEDED"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    DISABLED_FOR_NON_PAYMENT = "DISABLED_FOR_NON_PAYMENT"


@dataclass(frozen=True, slots=True)
class Transition:
    """One thing the engine did, when (on the tenant's clock) and to which object."""

    at: datetime
    kind: TransitionKind
    tenant_id: int
    subscription_id: int | None
    invoice_id: int | None
    description: str


@dataclass(frozen=True, slots=True)
class Scope:
    """The tenants of a run: one sandbox tenant (its test clock), or every live tenant."""

    tenant_id: int | None = None

    def q(self) -> Q:
        """The filter on a tenant-owned table."""
        if self.tenant_id is not None:
            return Q(tenant_id=self.tenant_id)
        return Q(tenant_id__in=Subquery(models.Tenant.filter(sandbox=False).values("id")))


LIVE = Scope()


async def claim(queryset: Any, *fields: str) -> list[dict]:
    """The rows of `queryset`, locked until the end of the caller's transaction, without the
    rows another transaction holds (PostgreSQL `FOR UPDATE SKIP LOCKED`; SQLite has one
    writer at a time). Tortoise drops FOR UPDATE from `.values()` queries, so the rows are
    locked by id first and read afterwards."""
    ids = [row.pk for row in await queryset.select_for_update(skip_locked=True).only("id")]
    rows: list[dict] = []
    for start in range(0, len(ids), BATCH):
        rows += await queryset.model.filter(id__in=ids[start:start + BATCH]).values(*fields)
    return rows


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), UTC)


async def run(scope: Scope, until: datetime, gateway: PaymentGateway,
              lease_clock: Clock | None = None) -> list[Transition]:
    """Process everything due in `scope` up to `until`, day by day; what it did, in order.
    `lease_clock` (wall time) dates charge leases; `until` may be a sandbox clock's moment."""
    lease_clock = lease_clock or SystemClock()
    transitions: list[Transition] = []
    after: date | None = None
    while (day := await _next_due_day(scope, until, after)) is not None:
        bound = min(until, _midnight(day + timedelta(days=1)))
        # Invoices and charges of a day happen at its end (or at `until` on the last day),
        # after the renewals of that day, which they may include.
        moment = min(until, _midnight(day + timedelta(days=1)) - timedelta(seconds=1))
        transitions += await _term_ends(scope, bound)
        transitions += await _timers(scope, bound)
        transitions += await _issue_invoices(scope, day, moment)
        transitions += await _charge(scope, day, moment, gateway, lease_clock)
        after = day
    return transitions


async def collect_now(tenant_id: int, now: datetime, gateway: PaymentGateway) -> None:
    """§7 "charged at once": after a change made something due today (a licence increase or
    a reactivation under RENEWAL_DAY), run the tenant's engine up to now so it is invoiced and
    charged in the same request. The change has committed already: a failure here is logged
    and left to the next run."""
    try:
        await run(Scope(tenant_id), now, gateway)
    except Exception:
        log.exception("charging at once failed for tenant %s; the next billing run retries", tenant_id)


async def _next_due_day(scope: Scope, until: datetime, after: date | None) -> date | None:
    """The first day after `after` (if given) on which something is due, up to `until`."""
    since = _midnight(after + timedelta(days=1)) if after else None
    candidates: list[date] = []

    async def earliest(query: Any, column: str, shift: timedelta = timedelta()) -> None:
        value = (await query.annotate(first=Min(column)).values_list("first", flat=True))[0]
        if value is not None:
            if isinstance(value, str):  # SQLite aggregates come back as text
                value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
            if isinstance(value, datetime):
                value = (value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)) + shift
                value = value.date()
            candidates.append(value)

    subscriptions = models.Subscription.filter(scope.q())
    await earliest(subscriptions.filter(status=Status.ACTIVE, term_end__lte=until,
                                        **({"term_end__gte": since} if since else {})), "term_end")
    await earliest(subscriptions.filter(status=Status.EXPIRED, expired_at__lte=until - EXPIRED_PERIOD,
                                        **({"expired_at__gte": since - EXPIRED_PERIOD} if since else {})),
                   "expired_at", EXPIRED_PERIOD)
    await earliest(subscriptions.filter(status=Status.DISABLED, disabled_at__lte=until - DISABLED_PERIOD,
                                        **({"disabled_at__gte": since - DISABLED_PERIOD} if since else {})),
                   "disabled_at", DISABLED_PERIOD)
    day_range = {"charge_on__lte": until.date(), **({"charge_on__gte": since.date()} if since else {})}
    await earliest(models.InvoiceLine.filter(scope.q(), invoice_id=None, amount__gt=0, **day_range), "charge_on")
    attempt_range = {"next_attempt_on__lte": until.date(),
                     **({"next_attempt_on__gte": since.date()} if since else {})}
    await earliest(models.Invoice.filter(scope.q(), status__in=PAYABLE, **attempt_range), "next_attempt_on")
    return min(candidates) if candidates else None


def _event(tenant_id: int, action: str, object_type: str, object_id: int, at: datetime,
           before: dict | None, after: dict | None) -> dict:
    # The engine acts on its own: no actor user (SPEC §8 "who" is the system).
    return dict(
        tenant_id=tenant_id, actor_user_id=None, action=action, object_type=object_type, object_id=object_id,
        before=audit.snapshot(before) if before else None, after=audit.snapshot(after) if after else None, at=at,
    )


async def _accounts(account_ids: set[int]) -> dict[int, dict]:
    rows = await models.BillingAccount.filter(id__in=account_ids).values("id", "charge_schedule", "billing_day")
    return {row["id"]: row for row in rows}


async def _term_ends(scope: Scope, bound: datetime) -> list[Transition]:
    """§3, §5 Trials, §7: renew, convert or expire every active subscription whose term ended."""
    async with in_transaction():
        rows = await claim(
            models.Subscription.filter(scope.q(), status=Status.ACTIVE, term_end__lte=bound),
            "id", "tenant_id", "billing_account_id", "billing_profile_id", "product_id", "term_end", "start_date",
            "commitment_term", "auto_renew", "trial", "quantity", "unit_price", "currency", "version")
        if not rows:
            return []
        accounts = await _accounts({row["billing_account_id"] for row in rows})
        with_card = set(await models.BillingProfile.filter(
            id__in={row["billing_profile_id"] for row in rows}, payment_method_id__not_isnull=True
        ).values_list("id", flat=True))
        names = dict(await models.Product.filter(id__in={row["product_id"] for row in rows}).values_list("id", "name"))
        renewed: list[dict] = []
        expired: list[dict] = []
        lines: list[dict] = []
        events: list[dict] = []
        transitions: list[Transition] = []
        for row in rows:
            account = accounts[row["billing_account_id"]]
            schedule = models.ChargeSchedule(account["charge_schedule"])
            term = models.CommitmentTerm(row["commitment_term"])
            ended = row["term_end"]
            plan = plan_term_end(ended, term, row["auto_renew"], row["trial"],
                                 row["billing_profile_id"] in with_card, row["unit_price"], row["quantity"],
                                 schedule, account["billing_day"],
                                 # A converted trial starts as a paid subscription on that day.
                                 ended.day if row["trial"] else row["start_date"].day)
            name = names[row["product_id"]]
            if plan.outcome is TermEndOutcome.EXPIRED:
                expired.append(dict(
                    id=row["id"], status=Status.EXPIRED, status_reason=models.StatusReason.TERM_ENDED,
                    status_changed_at=ended, expired_at=ended, next_charge_date=None, version=row["version"] + 1,
                ))
                why = "the trial ended without auto-renew and a payment method" if row["trial"] else "auto-renew is off"
                events.append(_event(row["tenant_id"], "subscription.expired", "Subscription", row["id"], ended,
                                     {"status": Status.ACTIVE}, {"status": Status.EXPIRED, "reason": "TERM_ENDED"}))
                transitions.append(Transition(ended, TransitionKind.EXPIRED, row["tenant_id"], row["id"], None,
                                              f"{name}: the term ended and {why}; expired for 30 days."))
                continue
            converted = plan.outcome is TermEndOutcome.TRIAL_CONVERTED
            renewed.append(dict(
                id=row["id"], term_start=plan.term_start, term_end=plan.term_end, trial=False,
                start_date=ended.date() if converted else row["start_date"],
                next_charge_date=plan.charge_on, version=row["version"] + 1,
            ))
            unit = "month" if term is models.CommitmentTerm.MONTHLY else "year"
            label = "trial converted to paid" if converted else "renewal"
            lines.append(dict(
                tenant_id=row["tenant_id"], billing_profile_id=row["billing_profile_id"], subscription_id=row["id"],
                kind=models.InvoiceLineKind.RENEWAL, description=f"{name}, {row['quantity']} licence(s), {label}",
                quantity=row["quantity"], unit_price=row["unit_price"], amount=plan.amount, currency=row["currency"],
                period_start=plan.term_start.date(), period_end=plan.term_end.date(),  # type: ignore[union-attr]
                explanation=f"{row['unit_price']} {row['currency']} x {row['quantity']} licence(s) for one {unit} "
                            f"= {plan.amount} {row['currency']}; charged on {plan.charge_on} "
                            f"({schedule.value.replace('_', ' ').lower()})",
                charge_on=plan.charge_on, created_at=ended,
            ))
            kind = TransitionKind.TRIAL_CONVERTED if converted else TransitionKind.RENEWED
            events.append(_event(row["tenant_id"], f"subscription.{kind.value.lower()}", "Subscription", row["id"],
                                 ended, {"termEnd": ended}, {"termEnd": plan.term_end, "chargeOn": plan.charge_on}))
            transitions.append(Transition(
                ended, kind, row["tenant_id"], row["id"], None,
                f"{name}: {label} until {plan.term_end:%Y-%m-%d}, {plan.amount} {row['currency']} "
                f"charged on {plan.charge_on}.",
            ))
        if renewed:
            await bulk.update_rows(models.Subscription, ["term_start", "term_end", "trial", "start_date",
                                                         "next_charge_date", "version"], renewed)
            await bulk.insert_rows(models.InvoiceLine, lines)
        if expired:
            await bulk.update_rows(models.Subscription, ["status", "status_reason", "status_changed_at", "expired_at",
                                                         "next_charge_date", "version"], expired)
        await bulk.insert_rows(models.AuditEvent, events)
    return transitions


@dataclass(frozen=True, slots=True)
class _Timer:
    """A status that ends after a period: which status follows, stamped in which column."""

    status: models.SubscriptionStatus
    since: str
    period: timedelta
    then: models.SubscriptionStatus
    stamp: str
    kind: TransitionKind
    description: str


# §3: EXPIRED for 30 days → DISABLED (users lose the service); DISABLED for 90 days → DELETED.
TIMERS = (
    _Timer(Status.EXPIRED, "expired_at", EXPIRED_PERIOD, Status.DISABLED, "disabled_at", TransitionKind.DISABLED,
           "Expired for 30 days: disabled for 90 days, users lose the service."),
    _Timer(Status.DISABLED, "disabled_at", DISABLED_PERIOD, Status.DELETED, "deleted_at", TransitionKind.DELETED,
           "Disabled for 90 days: deleted."),
)


async def _timers(scope: Scope, bound: datetime) -> list[Transition]:
    """§3: move every subscription whose timed status has run out to the next status."""
    transitions: list[Transition] = []
    async with in_transaction():
        for timer in TIMERS:
            rows = await claim(
                models.Subscription.filter(scope.q(), status=timer.status,
                                           **{f"{timer.since}__lte": bound - timer.period}),
                "id", "tenant_id", timer.since, "version")
            if not rows:
                continue
            changes, events = [], []
            for row in rows:
                at = row[timer.since] + timer.period
                changes.append({"id": row["id"], "status": timer.then, "status_changed_at": at, timer.stamp: at,
                                "version": row["version"] + 1})
                events.append(_event(row["tenant_id"], f"subscription.{timer.then.value.lower()}", "Subscription",
                                     row["id"], at, {"status": timer.status}, {"status": timer.then}))
                transitions.append(Transition(at, timer.kind, row["tenant_id"], row["id"], None, timer.description))
            await bulk.update_rows(models.Subscription, ["status", "status_changed_at", timer.stamp, "version"], changes)
            if timer.then is Status.DISABLED:
                await _suspend([row["id"] for row in rows])
            await bulk.insert_rows(models.AuditEvent, events)
    return transitions


async def _suspend(subscription_ids: list[int]) -> None:
    for start in range(0, len(subscription_ids), BATCH):
        await models.LicenseAssignment.filter(subscription_id__in=subscription_ids[start:start + BATCH]).update(
            state=models.LicenseState.SUSPENDED)


async def number_invoices(profile_ids: list[int]) -> dict[int, str]:
    """The next invoice number of each profile (one invoice each): `INV-<profile>-<n>`,
    counted by one increment per profile inside the caller's transaction."""
    for start in range(0, len(profile_ids), BATCH):
        await models.BillingProfile.filter(id__in=profile_ids[start:start + BATCH]).update(
            invoice_count=F("invoice_count") + 1)
    counts: dict[int, int] = {}
    for start in range(0, len(profile_ids), BATCH):
        counts.update(await models.BillingProfile.filter(id__in=profile_ids[start:start + BATCH]).values_list(
            "id", "invoice_count"))
    return {pid: f"INV-{pid:06d}-{counts[pid]:04d}" for pid in profile_ids}


async def insert_invoices(invoices: list[dict]) -> dict[int, int]:
    """Write new invoices (one per profile) and return their ids by profile."""
    await bulk.insert_rows(models.Invoice, invoices)
    by_number = {invoice["number"]: invoice["billing_profile_id"] for invoice in invoices}
    ids: dict[int, int] = {}
    numbers = list(by_number)
    for start in range(0, len(numbers), BATCH):
        for row in await models.Invoice.filter(number__in=numbers[start:start + BATCH]).values(
                "id", "number", "billing_profile_id"):
            if by_number.get(row["number"]) == row["billing_profile_id"]:
                ids[row["billing_profile_id"]] = row["id"]
    return ids


async def _issue_invoices(scope: Scope, day: date, moment: datetime) -> list[Transition]:
    """§7: per billing profile, one invoice of every outstanding line whose charge day has
    come, credits included, when the charges are at least the credits."""
    async with in_transaction():
        lines = await claim(
            models.InvoiceLine.filter(scope.q(), invoice_id=None, charge_on__lte=day),
            "id", "tenant_id", "billing_profile_id", "subscription_id", "amount", "currency", "period_start",
            "period_end")
        by_profile: dict[int, list[dict]] = defaultdict(list)
        for line in lines:
            by_profile[line["billing_profile_id"]].append(line)
        # Credits alone, or credits larger than the charges, wait for a later invoice.
        due = {pid: group for pid, group in by_profile.items()
               if any(line["amount"] > 0 for line in group) and sum(line["amount"] for line in group) >= 0}
        if not due:
            return []
        profile_ids = sorted(due)
        accounts = dict(await models.BillingProfile.filter(id__in=profile_ids).values_list("id", "billing_account_id"))
        numbers = await number_invoices(profile_ids)
        invoices = []
        for pid in profile_ids:
            group = due[pid]
            total = sum((line["amount"] for line in group), Decimal("0.00"))
            invoices.append(dict(
                tenant_id=group[0]["tenant_id"], billing_account_id=accounts[pid], billing_profile_id=pid,
                number=numbers[pid], issue_date=day, period_start=min(line["period_start"] for line in group),
                period_end=max(line["period_end"] for line in group),
                status=models.InvoiceStatus.OPEN if total > 0 else models.InvoiceStatus.PAID,
                total=total, amount_due=total, currency=group[0]["currency"],
                next_attempt_on=day if total > 0 else None, created_at=moment,
            ))
        ids = await insert_invoices(invoices)
        await bulk.update_rows(models.InvoiceLine, ["invoice_id"], [
            dict(id=line["id"], invoice_id=ids[pid]) for pid in profile_ids for line in due[pid]])
        await _refresh_next_charge({line["subscription_id"] for pid in profile_ids for line in due[pid]
                                    if line["subscription_id"] is not None})
        events = [_event(invoice["tenant_id"], "invoice.issued", "Invoice", ids[invoice["billing_profile_id"]], moment,
                         None, {"number": invoice["number"], "total": invoice["total"]}) for invoice in invoices]
        await bulk.insert_rows(models.AuditEvent, events)
    return [Transition(moment, TransitionKind.INVOICE_ISSUED, invoice["tenant_id"], None,
                       ids[invoice["billing_profile_id"]],
                       f"Invoice {invoice['number']} issued: {invoice['total']} {invoice['currency']}, "
                       f"{len(due[invoice['billing_profile_id']])} line(s).")
            for invoice in invoices]


async def _refresh_next_charge(subscription_ids: set[int]) -> None:
    """Once a subscription's charges are on an invoice, its next charge is its next renewal."""
    if not subscription_ids:
        return
    rows = await models.Subscription.filter(id__in=subscription_ids).values(
        "id", "status", "auto_renew", "term_end", "billing_account_id")
    accounts = await _accounts({row["billing_account_id"] for row in rows})
    await bulk.update_rows(models.Subscription, ["next_charge_date"], [
        dict(id=row["id"], next_charge_date=next_charge_on(
            Status(row["status"]), row["auto_renew"], row["term_end"],
            models.ChargeSchedule(accounts[row["billing_account_id"]]["charge_schedule"]),
            accounts[row["billing_account_id"]]["billing_day"]))
        for row in rows
    ])


async def _charge(scope: Scope, day: date, moment: datetime, gateway: PaymentGateway,
                  lease_clock: Clock) -> list[Transition]:
    """§7: charge every open invoice due today and every retry due today, outside any
    transaction; record the outcomes and apply dunning."""
    leased_at = lease_clock.now()
    async with in_transaction():
        claimed = await claim(
            models.Invoice.filter(scope.q(), status__in=PAYABLE, next_attempt_on__lte=day)
            .filter(Q(charge_claimed_at=None) | Q(charge_claimed_at__lt=leased_at - CHARGE_LEASE)),
            "id", "tenant_id", "billing_profile_id", "number", "status", "amount_due", "currency", "first_failed_on")
        for start in range(0, len(claimed), BATCH):
            await models.Invoice.filter(id__in=[row["id"] for row in claimed[start:start + BATCH]]).update(
                charge_claimed_at=leased_at)
    if not claimed:
        return []
    invoice_ids = [row["id"] for row in claimed]
    cards = {row["id"]: row for row in await models.BillingProfile.filter(
        id__in={row["billing_profile_id"] for row in claimed}).values(
        "id", "payment_method_id", "payment_method__gateway_token")}
    failures = dict(await models.PaymentAttempt.filter(
        invoice_id__in=invoice_ids, status=models.PaymentAttemptStatus.FAILED
    ).annotate(n=Count("id")).group_by("invoice_id").values_list("invoice_id", "n"))
    outcomes: list[tuple[dict, ChargeResult, str, int | None]] = []
    for row in claimed:
        card = cards[row["billing_profile_id"]]
        key = dunning.gateway_key(row["id"], failures.get(row["id"], 0))
        if card["payment_method__gateway_token"] is None:
            result = ChargeResult(False, "", "No payment method on the billing profile.")
        else:
            # NOTE: outside any transaction (§7); the key makes a repeated charge a no-op.
            result = await gateway.charge(card["payment_method__gateway_token"], row["amount_due"],
                                          row["currency"], key)
        outcomes.append((row, result, key, card["payment_method_id"]))
    try:
        async with in_transaction():
            return await _record_charges(outcomes, day, moment)
    except IntegrityError:
        # A concurrent payInvoice recorded one of these charges (same gateway key): record the
        # others one by one.
        transitions: list[Transition] = []
        for outcome in outcomes:
            try:
                async with in_transaction():
                    transitions += await _record_charges([outcome], day, moment)
            except IntegrityError:
                await models.Invoice.filter(id=outcome[0]["id"]).update(charge_claimed_at=None)
        return transitions


async def _record_charges(outcomes: list[tuple[dict, ChargeResult, str, int | None]], day: date,
                          moment: datetime) -> list[Transition]:
    attempts = []
    paid: list[dict] = []
    failed: list[dict] = []
    given_up: list[dict] = []
    events = []
    transitions = []
    for row, result, key, method_id in outcomes:
        attempts.append(dict(
            tenant_id=row["tenant_id"], invoice_id=row["id"], payment_method_id=method_id, amount=row["amount_due"],
            currency=row["currency"],
            status=models.PaymentAttemptStatus.SUCCEEDED if result.succeeded else models.PaymentAttemptStatus.FAILED,
            gateway_idempotency_key=key, gateway_reference=result.reference or None,
            failure_reason=result.failure_reason, attempted_at=moment,
        ))
        if result.succeeded:
            paid.append(dict(id=row["id"], status=models.InvoiceStatus.PAID, amount_due=Decimal("0.00"),
                                       next_attempt_on=None, charge_claimed_at=None))
            events.append(_event(row["tenant_id"], "invoice.paid", "Invoice", row["id"], moment,
                                 {"status": row["status"]}, {"status": "PAID", "amount": row["amount_due"]}))
            transitions.append(Transition(moment, TransitionKind.PAYMENT_SUCCEEDED, row["tenant_id"], None, row["id"],
                                          f"Invoice {row['number']}: {row['amount_due']} {row['currency']} charged."))
            continue
        first = row["first_failed_on"] or day
        retry_on = dunning.next_retry(first, day)
        failed.append(dict(id=row["id"], status=models.InvoiceStatus.PAST_DUE, first_failed_on=first,
                                     next_attempt_on=retry_on, charge_claimed_at=None))
        events.append(_event(row["tenant_id"], "invoice.payment_failed", "Invoice", row["id"], moment,
                             {"status": row["status"]}, {"status": "PAST_DUE", "retryOn": retry_on}))
        transitions.append(Transition(
            moment, TransitionKind.PAYMENT_FAILED, row["tenant_id"], None, row["id"],
            f"Invoice {row['number']}: charge of {row['amount_due']} {row['currency']} declined; "
            + (f"retried on {retry_on}." if retry_on else "that was the last retry."),
        ))
        if retry_on is None:
            given_up.append(row)
    await bulk.insert_rows(models.PaymentAttempt, attempts)
    # Conditional on the invoice still being payable: a payInvoice may have settled it meanwhile.
    open_ids = set(await models.Invoice.filter(id__in=[row["id"] for row, *_ in outcomes],
                                               status__in=PAYABLE).values_list("id", flat=True))
    if paid:
        await bulk.update_rows(models.Invoice, ["status", "amount_due", "next_attempt_on", "charge_claimed_at"],
                               [i for i in paid if i["id"] in open_ids])
    if failed:
        await bulk.update_rows(models.Invoice, ["status", "first_failed_on", "next_attempt_on", "charge_claimed_at"],
                               [i for i in failed if i["id"] in open_ids])
    if given_up:
        transitions += await _disable_for_non_payment([row for row in given_up if row["id"] in open_ids], moment,
                                                      events)
    await bulk.insert_rows(models.AuditEvent, events)
    return transitions


async def _disable_for_non_payment(invoices: list[dict], moment: datetime,
                                   events: list[dict]) -> list[Transition]:
    """§7: when the last retry fails, the invoice's subscriptions are cancelled (DISABLED,
    NON_PAYMENT) and their users lose the service."""
    if not invoices:
        return []
    subscription_ids = set(await models.InvoiceLine.filter(
        invoice_id__in=[row["id"] for row in invoices], subscription_id__not_isnull=True
    ).values_list("subscription_id", flat=True))
    rows = await claim(
        models.Subscription.filter(id__in=subscription_ids, status__in=[Status.ACTIVE, Status.EXPIRED]),
        "id", "tenant_id", "status", "version")
    if not rows:
        return []
    await bulk.update_rows(models.Subscription, ["status", "status_reason", "status_changed_at", "disabled_at",
                                                 "auto_renew", "next_charge_date", "version"], [
        dict(id=row["id"], status=Status.DISABLED, status_reason=models.StatusReason.NON_PAYMENT,
             status_changed_at=moment, disabled_at=moment, auto_renew=False, next_charge_date=None,
             version=row["version"] + 1)
        for row in rows
    ])
    await _suspend([row["id"] for row in rows])
    transitions = []
    for row in rows:
        events.append(_event(row["tenant_id"], "subscription.disabled", "Subscription", row["id"], moment,
                             {"status": row["status"]}, {"status": Status.DISABLED, "reason": "NON_PAYMENT"}))
        transitions.append(Transition(moment, TransitionKind.DISABLED_FOR_NON_PAYMENT, row["tenant_id"], row["id"],
                                      None, "The last retry failed: disabled for non-payment."))
    return transitions
