"""Fixed statements (`domain.rows`) give the same Python values as Tortoise's `.values()`:
dates and times (with their zone), decimals, enums, JSON and nulls, on both backends."""

from __future__ import annotations

from tortoise import Tortoise

from billing_center.domain import models, rows
from tests import factories


async def test_a_fixed_statement_reads_what_the_orm_reads(database, clock):
    org = await factories.sign_up(clock)
    await factories.add_subscription(org, clock, cancelled_at=None, expired_at=clock.now())
    for model in (models.Subscription, models.User, models.Tenant, models.Product):
        select, converters = rows.select_list(model, alias="m", prefix="p__")
        sql = f'SELECT {select} FROM "{model._meta.db_table}" m ORDER BY m."id"'
        fixed = [rows.convert(row, converters) for row in await Tortoise.get_connection("default").execute_query_dict(sql)]
        by_orm = await model.all().order_by("id").values()
        assert fixed == by_orm
        # and the same types, down to the time zone of each datetime
        for mine, theirs in zip(fixed, by_orm):
            for name, value in theirs.items():
                assert type(mine[name]) is type(value), name
                if hasattr(value, "utcoffset") and getattr(value, "tzinfo", None) is not None:
                    assert mine[name].utcoffset() == value.utcoffset(), name
