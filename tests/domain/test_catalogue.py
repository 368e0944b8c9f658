"""The default catalogue (issue #2 item 4, SPEC §3)."""

from __future__ import annotations

from billing_center.domain import models
from billing_center.domain.catalogue import DEFAULT_CATALOGUE, load_catalogue


async def test_catalogue_has_priced_self_service_and_trial_products(database):
    products = await models.Product.all().values()
    assert len(products) == len(DEFAULT_CATALOGUE) >= 6
    assert all(p["monthly_price"] > 0 and p["annual_price"] > 0 for p in products)
    assert sum(p["self_service"] for p in products) >= 2
    assert sum(p["trial_available"] for p in products) >= 2


async def test_loading_the_catalogue_again_changes_nothing(database):
    before = await models.Product.all().order_by("id").values()
    await load_catalogue()
    assert await models.Product.all().order_by("id").values() == before
