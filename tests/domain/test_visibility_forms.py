"""The subscriptions page is a fixed statement (issue #5), so the rule "who sees which
subscriptions" (SPEC §1, §6) has two renderings in `domain.visibility`: the ORM filter and
the SQL condition. They must select exactly the same rows for every kind of caller."""

from __future__ import annotations

import pytest
from tortoise import Tortoise

from billing_center.domain import models, rows, visibility
from billing_center.domain.actor import Actor
from tests import factories


@pytest.fixture
async def callers(database, clock):
    org = await factories.sign_up(clock)
    other = await factories.sign_up(clock, name="Fabrikam")
    buyer, _ = await factories.add_user(org, clock, "Buyer")
    bystander, _ = await factories.add_user(org, clock, "Bystander")
    licence_admin, _ = await factories.add_user(org, clock, "Lic", [models.Role.LICENSE_ADMIN])
    billing_admin, _ = await factories.add_user(org, clock, "Bill", [models.Role.BILLING_ADMIN])
    own = await models.BillingAccount.create(
        tenant_id=org.tenant.id, name="Buyer's", type=models.BillingAccountType.MOSA, owner_id=buyer.id,
        charge_schedule=models.ChargeSchedule.RENEWAL_DAY, self_service=True, created_at=clock.now(),
    )
    for _ in range(2):
        await factories.add_subscription(org, clock)
        await factories.add_subscription(other, clock)
    await factories.add_subscription(org, clock, sku="POWER_BI_PRO", account=own,
                                     purchase_channel=models.PurchaseChannel.SELF_SERVICE, purchased_by_id=buyer.id)
    users = [org.admin, buyer, bystander, licence_admin, billing_admin, other.admin]
    return [Actor.user(u.tenant_id, u.id, u.roles) for u in users] + [Actor.operator()]


async def test_the_orm_filter_and_the_sql_condition_select_the_same_subscriptions(callers):
    seen = []
    for actor in callers:
        by_orm = sorted(await models.Subscription.filter(visibility.subscriptions(actor)).values_list("id", flat=True))
        condition, params = visibility.subscriptions_sql(actor, "s")
        sql = f'SELECT s."id" FROM "subscription" s WHERE {condition} ORDER BY s."id"'
        connection = Tortoise.get_connection("default")
        if rows.dialect() == "postgres":
            sql = rows.numbered(sql, 1)
        by_sql = [row["id"] for row in await connection.execute_query_dict(sql, params)]
        assert by_sql == by_orm, actor
        seen.append(len(by_orm))
    # admins 3 (their tenant's, with the self-service one), the buyer 1, the bystander 0,
    # the other tenant's admin 2, the operator none: every branch of the rule was exercised
    assert seen[0] == 3 and seen[1] == 1 and seen[2] == 0 and seen[5] == 2 and seen[6] == 0
