"""The one list of error codes and the exception that carries a refused rule."""

from __future__ import annotations

from enum import Enum


class ErrorCode(str, Enum):
    """Codes a client can act on; mirrored as the GraphQL enum `ErrorCode` (API.md)."""

    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    INVALID_INPUT = "INVALID_INPUT"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    READ_ONLY_SELF_SERVICE = "READ_ONLY_SELF_SERVICE"
    TOO_MANY_USERS = "TOO_MANY_USERS"
    USER_NOT_IN_TENANT = "USER_NOT_IN_TENANT"
    INSUFFICIENT_LICENSES = "INSUFFICIENT_LICENSES"
    QUANTITY_BELOW_ASSIGNED = "QUANTITY_BELOW_ASSIGNED"
    SPENDING_LIMIT = "SPENDING_LIMIT"
    CONTACT_SUPPORT_TO_CANCEL = "CONTACT_SUPPORT_TO_CANCEL"
    DOMAIN_MUST_BE_REMOVED = "DOMAIN_MUST_BE_REMOVED"
    INVALID_STATUS = "INVALID_STATUS"
    REACTIVATION_UNAVAILABLE = "REACTIVATION_UNAVAILABLE"
    PAYMENT_METHOD_REQUIRED = "PAYMENT_METHOD_REQUIRED"
    PAYMENT_DECLINED = "PAYMENT_DECLINED"
    CARD_INVALID = "CARD_INVALID"
    PRODUCT_KEY_MALFORMED = "PRODUCT_KEY_MALFORMED"
    PRODUCT_KEY_UNKNOWN = "PRODUCT_KEY_UNKNOWN"
    PRODUCT_KEY_ALREADY_REDEEMED = "PRODUCT_KEY_ALREADY_REDEEMED"
    PRODUCT_KEY_WRONG_CLOUD = "PRODUCT_KEY_WRONG_CLOUD"
    PRODUCT_KEY_EXPIRED = "PRODUCT_KEY_EXPIRED"
    THROTTLED = "THROTTLED"
    NOT_SELF_SERVICE = "NOT_SELF_SERVICE"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    CLOCK_NOT_SANDBOX = "CLOCK_NOT_SANDBOX"
    CANCELLATION_WINDOW_CLOSED = "CANCELLATION_WINDOW_CLOSED"
    STATE_CHANGED = "STATE_CHANGED"
    SELF_SERVICE_NOT_ALLOWED = "SELF_SERVICE_NOT_ALLOWED"
    TRIAL_ALREADY_USED = "TRIAL_ALREADY_USED"
    SANDBOX_NOT_ALLOWED = "SANDBOX_NOT_ALLOWED"
    TOKEN_LIMIT_REACHED = "TOKEN_LIMIT_REACHED"
    LAST_GLOBAL_ADMIN = "LAST_GLOBAL_ADMIN"
    BILLING_ACCOUNT_OWNER = "BILLING_ACCOUNT_OWNER"
    WEBHOOK_URL_NOT_ALLOWED = "WEBHOOK_URL_NOT_ALLOWED"
    WEBHOOK_ENDPOINT_LIMIT = "WEBHOOK_ENDPOINT_LIMIT"


class DomainError(Exception):
    """A refused business rule: becomes a `userError` on a mutation, a coded error on a query.

    `field` is the path of the input field at fault, e.g. ("input", "adminEmail");
    `retry_after`, for THROTTLED, the seconds to wait before trying again.
    """

    def __init__(self, code: ErrorCode, message: str, field: tuple[str, ...] | None = None,
                 retry_after: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.retry_after = retry_after


def not_found(what: str, field: tuple[str, ...] | None = None) -> DomainError:
    """The one refusal for "missing" and "another tenant's": they must be indistinguishable."""
    return DomainError(ErrorCode.NOT_FOUND, f"{what} not found.", field)
