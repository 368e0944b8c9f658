"""The default product catalogue loaded by `billing-center migrate` (SPEC §3).

Prices are per licence: `monthly_price` per month on a monthly commitment, `annual_price` per
year on an annual one. Loading is an upsert by SKU, so running it again changes nothing.
"""

from __future__ import annotations

from decimal import Decimal

from billing_center.domain import models
from billing_center.domain.atomic import atomic

BOTH_TERMS = [models.CommitmentTerm.MONTHLY.value, models.CommitmentTerm.ANNUAL.value]
ANNUAL_ONLY = [models.CommitmentTerm.ANNUAL.value]

DEFAULT_CATALOGUE: list[dict] = [
    {"sku": "O365_E1", "name": "Office 365 E1", "monthly_price": "10.00", "annual_price": "96.00",
     "commitment_terms": BOTH_TERMS, "self_service": False, "trial_available": False},
    {"sku": "O365_E3", "name": "Office 365 E3", "monthly_price": "23.00", "annual_price": "276.00",
     "commitment_terms": BOTH_TERMS, "self_service": False, "trial_available": True},
    {"sku": "M365_BUSINESS_BASIC", "name": "Microsoft 365 Business Basic", "monthly_price": "7.20",
     "annual_price": "72.00", "commitment_terms": BOTH_TERMS, "self_service": False,
     "trial_available": True},
    {"sku": "M365_BUSINESS_PREMIUM", "name": "Microsoft 365 Business Premium",
     "monthly_price": "26.40", "annual_price": "264.00", "commitment_terms": BOTH_TERMS,
     "self_service": False, "trial_available": False},
    {"sku": "POWER_BI_PRO", "name": "Power BI Pro", "monthly_price": "14.00",
     "annual_price": "140.00", "commitment_terms": BOTH_TERMS, "self_service": True,
     "trial_available": True},
    {"sku": "VISIO_PLAN_2", "name": "Visio Plan 2", "monthly_price": "18.00",
     "annual_price": "180.00", "commitment_terms": BOTH_TERMS, "self_service": True,
     "trial_available": False},
    {"sku": "PROJECT_PLAN_3", "name": "Project Plan 3", "monthly_price": "36.00",
     "annual_price": "360.00", "commitment_terms": BOTH_TERMS, "self_service": True,
     "trial_available": False},
    {"sku": "EXCHANGE_ONLINE_P1", "name": "Exchange Online (Plan 1)", "monthly_price": "4.80",
     "annual_price": "48.00", "commitment_terms": ANNUAL_ONLY, "self_service": False,
     "trial_available": False},
]


def trial_days(product: dict) -> int | None:
    """How many days a trial of the product lasts; None when the product has no trial (its
    `trial_days` column keeps a default that means nothing then)."""
    return product["trial_days"] if product["trial_available"] else None


async def load_catalogue() -> int:
    """Insert or update every default product; returns how many products were written."""
    async with atomic():
        for position, entry in enumerate(DEFAULT_CATALOGUE):
            values = {
                **entry,
                "monthly_price": Decimal(entry["monthly_price"]),
                "annual_price": Decimal(entry["annual_price"]),
                "position": position,
            }
            sku = values.pop("sku")
            updated = await models.Product.filter(sku=sku).update(**values)
            if not updated:
                await models.Product.create(sku=sku, **values)
    return len(DEFAULT_CATALOGUE)
