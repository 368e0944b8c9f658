"""What the billing engine reports it did (SPEC §7: a sandbox clock lists its transitions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum


class TransitionKind(str, Enum):
    """What the engine did."""

    RENEWED = "RENEWED"
    TRIAL_CONVERTED = "TRIAL_CONVERTED"
    EXPIRED = "EXPIRED"
    DISABLED = "DISABLED"
    DELETED = "DELETED"
    INVOICE_ISSUED = "INVOICE_ISSUED"
    CREDIT_NOTE_ISSUED = "CREDIT_NOTE_ISSUED"
    PAYMENT_SUCCEEDED = "PAYMENT_SUCCEEDED"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    REFUND_SUCCEEDED = "REFUND_SUCCEEDED"
    REFUND_FAILED = "REFUND_FAILED"
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
