"""The peers benchmark's dataset, written in bulk with the project's Tortoise models.

The same deterministic rows go into PostgreSQL and into a SQLite copy (tokens are generated
once by the caller and stored as hashes in both), so every server answers the same query with
the same data.

* small part: 20 tenants x 25 users x 5 subscriptions x 10 licence assignments
* large part: 20 tenants x 250 users x 50 subscriptions x 10 licence assignments
* one "Mutations" tenant: an admin, fresh users, a card (tok_bench), one big subscription to
  assign seats of, and subscriptions started now (MCA: cancellable for 168 h) to cancel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from billing_center.domain import auth, models
from billing_center.domain.catalogue import load_catalogue

BATCH = 1000
SMALL = dict(tenants=20, users=25, subs=5, holders=10)
LARGE = dict(tenants=20, users=250, subs=50, holders=10)


@dataclass
class Built:
    small_tenant_id: int = 0
    full_tenant_id: int = 0
    mutation_tenant_id: int = 0
    # ids the mutation bench needs (PostgreSQL only)
    product_id: int = 0
    assign_subscription_id: int = 0
    assign_user_ids: list[int] = field(default_factory=list)
    cancel_subscription_ids: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Tokens:
    small: str
    full: str
    mutation: str

    @classmethod
    def new(cls) -> "Tokens":
        return cls(auth.new_token(), auth.new_token(), auth.new_token())


async def _bulk(model, rows: list) -> None:
    for i in range(0, len(rows), BATCH):
        await model.bulk_create(rows[i:i + BATCH])


async def build(now: datetime, tokens: Tokens, mutation_users: int = 0, cancel_subs: int = 0) -> Built:
    """Write the dataset into the database Tortoise is initialised on (already migrated)."""
    await load_catalogue()
    products = [p for p in await models.Product.all().order_by("position").values("id", "monthly_price", "commitment_terms")
                if models.CommitmentTerm.MONTHLY.value in p["commitment_terms"]]
    term_start = now - timedelta(days=5)

    plan: list[tuple[str, dict]] = []  # (tenant name, shape)
    plan += [(f"Small {t:02d}", SMALL) for t in range(SMALL["tenants"])]
    plan += [(f"Large {t:02d}", LARGE) for t in range(LARGE["tenants"])]
    if mutation_users or cancel_subs:
        plan.append(("Mutations", dict(users=max(1, mutation_users), subs=0, holders=0)))

    await _bulk(models.Tenant, [models.Tenant(name=name, cloud=models.Cloud.WORLDWIDE, created_at=term_start)
                                for name, _ in plan])
    tenant_ids = dict(await models.Tenant.all().values_list("name", "id"))

    # users: index 0 is the tenant's global admin
    users = []
    for name, shape in plan:
        tid = tenant_ids[name]
        slug = name.lower().replace(" ", "")
        users.append(models.User(tenant_id=tid, display_name=f"Admin of {name}", email=f"admin@{slug}.example",
                                 roles=[models.Role.GLOBAL_ADMIN.value], created_at=term_start))
        for u in range(shape["users"]):
            users.append(models.User(tenant_id=tid, display_name=f"{name} user {u:03d}",
                                     email=f"user{u}@{slug}.example", roles=[], created_at=term_start))
    await _bulk(models.User, users)
    user_rows = await models.User.all().order_by("id").values("id", "tenant_id", "roles")
    admins: dict[int, int] = {}
    plain: dict[int, list[int]] = {}
    for row in user_rows:
        if models.Role.GLOBAL_ADMIN.value in (row["roles"] or []):
            admins[row["tenant_id"]] = row["id"]
        else:
            plain.setdefault(row["tenant_id"], []).append(row["id"])

    token_for = {"Small 00": tokens.small, "Large 00": tokens.full, "Mutations": tokens.mutation}
    await _bulk(models.ApiToken, [
        models.ApiToken(tenant_id=tenant_ids[name], user_id=admins[tenant_ids[name]],
                        token_hash=auth.hash_token(token), created_at=term_start)
        for name, token in token_for.items() if name in tenant_ids])

    await _bulk(models.BillingAccount, [
        models.BillingAccount(tenant_id=tenant_ids[name], name="Main", type=models.BillingAccountType.MCA,
                              owner_id=admins[tenant_ids[name]], billing_day=min(term_start.day, 28),
                              charge_schedule=models.ChargeSchedule.ACCOUNT_BILLING_DAY, created_at=term_start)
        for name, _ in plan])
    accounts = dict(await models.BillingAccount.all().values_list("tenant_id", "id"))
    await _bulk(models.PaymentMethod, [
        models.PaymentMethod(tenant_id=tenant_ids[name], billing_account_id=accounts[tenant_ids[name]], brand="VISA",
                             last4="4242", expiry_month=12, expiry_year=now.year + 3, name_on_card="Bench",
                             gateway_token="tok_bench", created_at=term_start)
        for name, _ in plan])
    cards = dict(await models.PaymentMethod.all().values_list("tenant_id", "id"))
    await _bulk(models.BillingProfile, [
        models.BillingProfile(tenant_id=tenant_ids[name], billing_account_id=accounts[tenant_ids[name]], name="Main",
                              payment_method_id=cards[tenant_ids[name]], created_at=term_start)
        for name, _ in plan])
    profiles = dict(await models.BillingProfile.all().values_list("tenant_id", "id"))

    def subscription(tid: int, product: dict, quantity: int, assigned: int, start: datetime) -> models.Subscription:
        return models.Subscription(
            tenant_id=tid, billing_account_id=accounts[tid], billing_profile_id=profiles[tid],
            product_id=product["id"], status=models.SubscriptionStatus.ACTIVE, status_changed_at=start,
            quantity=quantity, assigned_count=assigned, commitment_term=models.CommitmentTerm.MONTHLY,
            auto_renew=True, start_date=start.date(), term_start=start, term_end=start + timedelta(days=30),
            purchase_channel=models.PurchaseChannel.ADMIN, purchased_by_id=admins[tid],
            unit_price=product["monthly_price"], created_at=start)

    subs = []
    for name, shape in plan:
        tid = tenant_ids[name]
        for k in range(shape["subs"]):
            subs.append(subscription(tid, products[k % len(products)], shape["holders"] + k % 7,
                                     shape["holders"], term_start))
    built = Built()
    if "Mutations" in tenant_ids:
        tid = tenant_ids["Mutations"]
        # one big subscription to assign seats of, then the ones to cancel (term started now)
        subs.append(subscription(tid, products[0], 100_000, 0, now))
        subs += [subscription(tid, products[1 + k % (len(products) - 1)], 1, 0, now) for k in range(cancel_subs)]
    await _bulk(models.Subscription, subs)
    sub_rows = await models.Subscription.all().order_by("id").values("id", "tenant_id", "product_id")
    by_tenant: dict[int, list[dict]] = {}
    for row in sub_rows:
        by_tenant.setdefault(row["tenant_id"], []).append(row)

    assignments = []
    for name, shape in plan:
        tid = tenant_ids[name]
        people = plain[tid]
        for k, row in enumerate(by_tenant.get(tid, [])[:shape["subs"]]):
            for j in range(shape["holders"]):
                user_id = people[(k * shape["holders"] + j) % len(people)]
                assignments.append(models.LicenseAssignment(
                    tenant_id=tid, subscription_id=row["id"], user_id=user_id, product_id=row["product_id"],
                    assigned_at=term_start))
    await _bulk(models.LicenseAssignment, assignments)

    built.small_tenant_id = tenant_ids["Small 00"]
    built.full_tenant_id = tenant_ids["Large 00"]
    if "Mutations" in tenant_ids:
        tid = tenant_ids["Mutations"]
        built.mutation_tenant_id = tid
        built.product_id = products[0]["id"]
        rows = by_tenant[tid]
        built.assign_subscription_id = rows[0]["id"]
        built.cancel_subscription_ids = [r["id"] for r in rows[1:]]
        built.assign_user_ids = plain[tid]
    built.counts = {"tenants": len(plan), "users": len(users), "subscriptions": len(subs),
                    "license_assignments": len(assignments)}
    return built
