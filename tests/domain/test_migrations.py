"""Migrations are the schema's truth: they match the models, and the database itself
carries the invariants (issue #2: unique assignment, quantity >= 1, unique product key,
unique idempotency key per tenant and mutation)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tortoise.context import TortoiseContext
from tortoise.exceptions import IntegrityError
from tortoise.migrations.autodetector import MigrationAutodetector

from billing_center.db import tortoise_config
from billing_center.domain import models
from tests import factories


async def test_models_and_migrations_agree():
    # The same check as `tortoise makemigrations`: nothing to generate.
    config = tortoise_config("sqlite://:memory:")
    async with TortoiseContext() as context:
        await context.init(config=config)
        writers = await MigrationAutodetector(context.apps, config["apps"]).changes()
    assert [w.operations for w in writers] == []


async def test_a_user_holds_one_seat_per_subscription(database, clock):
    org = await factories.sign_up(clock)
    subscription = await factories.add_subscription(org, clock, holders=[org.admin])
    with pytest.raises(IntegrityError):
        await models.LicenseAssignment.create(
            tenant_id=org.tenant.id, subscription_id=subscription.id, user_id=org.admin.id,
            product_id=subscription.product_id, assigned_at=clock.now(),
        )


async def test_quantity_is_at_least_one(database, clock):
    org = await factories.sign_up(clock)
    with pytest.raises(IntegrityError):
        await factories.add_subscription(org, clock, quantity=0)


async def test_assigned_count_never_exceeds_quantity(database, clock):
    org = await factories.sign_up(clock)
    subscription = await factories.add_subscription(org, clock, quantity=2)
    with pytest.raises(IntegrityError):
        await models.Subscription.filter(id=subscription.id).update(assigned_count=3)


async def test_product_keys_are_unique(database, clock):
    product = await models.Product.get(sku="O365_E1")
    values = dict(
        key="ABCDE12345ABCDE12345ABCDE", product_id=product.id, quantity=5,
        commitment_term=models.CommitmentTerm.ANNUAL, cloud=models.Cloud.WORLDWIDE,
        expires_at=clock.now() + timedelta(days=365), created_at=clock.now(),
    )
    await models.ProductKey.create(**values)
    with pytest.raises(IntegrityError):
        await models.ProductKey.create(**values)


async def test_idempotency_keys_are_unique_per_user_and_mutation(database, clock):
    org = await factories.sign_up(clock)
    other = await factories.sign_up(clock, name="Fabrikam")
    colleague, _ = await factories.add_user(org, clock, "Colleague")
    values = dict(mutation="purchaseSubscription", key="k-1", request_hash="h", created_at=clock.now())
    await models.IdempotencyRecord.create(tenant_id=org.tenant.id, user_id=org.admin.id, **values)
    # The same key of another tenant, another user of the tenant (low finding: keys were
    # tenant-wide) or for another mutation is independent.
    await models.IdempotencyRecord.create(tenant_id=other.tenant.id, user_id=other.admin.id, **values)
    await models.IdempotencyRecord.create(tenant_id=org.tenant.id, user_id=colleague.id, **values)
    await models.IdempotencyRecord.create(tenant_id=org.tenant.id, user_id=org.admin.id,
                                          **{**values, "mutation": "payInvoice"})
    with pytest.raises(IntegrityError):
        await models.IdempotencyRecord.create(tenant_id=org.tenant.id, user_id=org.admin.id, **values)
