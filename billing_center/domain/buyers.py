"""Who buys, and on which billing account (SPEC §6): a caller who manages billing buys for
the organization (its first account, or the one named); anybody else buys self-service on
their own account, an MCA charged on renewal days, made on their first purchase."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from billing_center.domain import available_actions, models, visibility
from billing_center.domain.actor import Actor
from billing_center.domain.errors import DomainError, ErrorCode, not_found
from billing_center.domain.policies import require_self_service


@dataclass(frozen=True, slots=True)
class Buyer:
    """Whose account a purchase goes on: the organization's (or the one named), or the buyer's
    own self-service account, which `create_account` says is still to be made."""

    self_service: bool
    account_id: int
    profile_id: int
    create_account: bool


async def buyer_of(actor: Actor, product: dict, trial: bool, billing_account_id: int | None) -> Buyer:
    """§6: a caller who manages billing buys on an account they may use (the organization's
    first one unless named); anybody else self-service, on their own account."""
    if not actor.manages_billing:
        await require_self_service(actor, product, trial)
        if billing_account_id is not None:
            raise DomainError(ErrorCode.FORBIDDEN, "Self-service purchases use your own billing account.",
                              ("input", "billingAccountId"))
        return Buyer(True, *await _self_service_account(actor))
    account_query = models.BillingAccount.filter(visibility.billing_accounts(actor))
    account_query = (account_query.filter(id=billing_account_id) if billing_account_id is not None
                     else account_query.filter(self_service=False).order_by("id"))
    accounts = await account_query.values("id", "self_service", "owner_id")
    if not accounts:
        raise not_found("Billing account", ("input", "billingAccountId"))
    refusal = available_actions.account_refusal(actor, accounts[0]["self_service"], accounts[0]["owner_id"])
    if refusal is not None:
        raise DomainError(refusal[0], refusal[1], ("input", "billingAccountId"))
    account_id = accounts[0]["id"]
    profile_id = (await models.BillingProfile.filter(billing_account_id=account_id).order_by("id").first()).id  # type: ignore[union-attr]
    return Buyer(False, account_id, profile_id, False)


async def _self_service_account(actor: Actor) -> tuple[int, int, bool]:
    """§6: the buyer's own account (MCA, RENEWAL_DAY), created on first purchase."""
    rows = await models.BillingAccount.filter(
        tenant_id=actor.tenant_id, owner_id=actor.user_id, self_service=True
    ).order_by("id").values("id")
    if rows:
        profile = await models.BillingProfile.filter(billing_account_id=rows[0]["id"]).order_by("id").first()
        return rows[0]["id"], profile.id, False  # type: ignore[union-attr]
    return 0, 0, True


async def charge_schedule(buyer: Buyer) -> tuple[models.ChargeSchedule, int | None]:
    """§7: how the account is charged; a new self-service account is charged on renewal days."""
    if buyer.create_account:
        return models.ChargeSchedule.RENEWAL_DAY, None
    account_row = (await models.BillingAccount.filter(id=buyer.account_id).values("charge_schedule", "billing_day"))[0]
    return models.ChargeSchedule(account_row["charge_schedule"]), account_row["billing_day"]


async def create_self_service_account(actor: Actor, now: datetime) -> tuple[int, int]:
    """§6: the buyer's own account (MCA, RENEWAL_DAY) and its profile, on first purchase."""
    account = await models.BillingAccount.create(
        tenant_id=actor.tenant_id, name="Self-service purchases", type=models.BillingAccountType.MCA,
        owner_id=actor.user_id, charge_schedule=models.ChargeSchedule.RENEWAL_DAY,
        self_service=True, created_at=now,
    )
    profile = await models.BillingProfile.create(
        tenant_id=actor.tenant_id, billing_account_id=account.id, name="Self-service", created_at=now,
    )
    return account.id, profile.id
