"""Opaque global IDs (Relay): base64 of `Type:pk`, and page cursors: base64 of `cursor:pk`.
Decoding one grants nothing by itself."""

from __future__ import annotations

import base64
import binascii


def to_global_id(type_name: str, pk: int) -> str:
    """The opaque ID of object `pk` of GraphQL type `type_name`."""
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def from_global_id(global_id: str) -> tuple[str, int] | None:
    """(type name, pk) of a global ID, or None when it is not one of ours."""
    if not isinstance(global_id, str) or len(global_id) > 200:
        return None
    try:
        raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
        type_name, _, pk = raw.partition(":")
        # ASCII digits only: `isdigit` also takes "٤" or "²", another spelling of an id or none.
        if not type_name or not (pk.isascii() and pk.isdigit()) or len(pk) > 18:
            return None
        return type_name, int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


CURSOR_PREFIX = "cursor:"


def encode_cursor(pk: int) -> str:
    """The opaque cursor of the row with primary key `pk`."""
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{pk}".encode()).decode().rstrip("=")


# Keys of event values that hold ids of other objects, and those objects' types.
_ID_KEYS = {
    "subscriptionId": "Subscription", "previousSubscriptionId": "Subscription", "from": "Subscription",
    "invoiceId": "Invoice", "userId": "User", "userIds": "User", "paymentMethodId": "PaymentMethod",
    "billingProfileId": "BillingProfile", "productId": "Product",
}


def event_values(values: dict | None) -> dict | None:
    """An event's `data`/`previousData` as the API shows them (GraphQL and webhooks): the
    ids of other objects (`_ID_KEYS`) as global IDs, lists of them too."""
    if values is None:
        return None
    shown = dict(values)
    for key, type_name in _ID_KEYS.items():
        value = shown.get(key)
        if isinstance(value, int):
            shown[key] = to_global_id(type_name, value)
        elif isinstance(value, list):
            shown[key] = [to_global_id(type_name, v) if isinstance(v, int) else v for v in value]
    return shown
