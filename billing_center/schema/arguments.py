"""Field arguments used by several fields: connection pages and invoice periods."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from billing_center.schema import enums

First = Annotated[int | None, strawberry.argument(description="Page size from the start, 1-100 (default 20).")]
After = Annotated[str | None, strawberry.argument(description="Cursor after which the page starts.")]
Last = Annotated[int | None, strawberry.argument(description="Page size from the end, 1-100.")]
Before = Annotated[str | None, strawberry.argument(description="Cursor before which the page ends.")]
Period = Annotated[
    enums.InvoicePeriod,
    strawberry.argument(description="Which invoices: the last 3 months (default), the last 6, or CUSTOM with from/to."),
]
From = Annotated[date | None, strawberry.argument(name="from", description="First issue date (CUSTOM), inclusive.")]
To = Annotated[date | None, strawberry.argument(description="Last issue date (CUSTOM), inclusive.")]
LAST_3_MONTHS = enums.InvoicePeriod.LAST_3_MONTHS  # type: ignore[attr-defined]
