"""Inputs and payloads of the mutations of product keys: issueProductKeys, redeemProductKey."""

from __future__ import annotations

import strawberry

from billing_center.schema import enums
from billing_center.schema.errors import UserError
from billing_center.schema.types import Subscription


@strawberry.input(description="Keys to issue (operator only).")
class IssueProductKeysInput:
    product_id: strawberry.ID = strawberry.field(description="The product the keys activate.")
    count: int = strawberry.field(description="How many keys, 1-100.")
    cloud: enums.Cloud = strawberry.field(description="The cloud the keys are valid in.")
    quantity: int = strawberry.field(default=1, description="Licences each key buys.")
    commitment_term: enums.CommitmentTerm = strawberry.field(default=enums.CommitmentTerm.ANNUAL, description="The prepaid term.")  # type: ignore[attr-defined]
    valid_days: int = strawberry.field(default=365, description="Days until the keys expire.")


@strawberry.type(description="Result of `issueProductKeys`.")
class IssueProductKeysPayload:
    keys: list[str] = strawberry.field(default_factory=list, description="The new keys, formatted XXXXX-XXXXX-XXXXX-XXXXX-XXXXX.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why no keys were issued, if so.")


@strawberry.input(description="A product key to redeem.")
class RedeemProductKeyInput:
    product_key: str = strawberry.field(description="XXXXX-XXXXX-XXXXX-XXXXX-XXXXX; case, dashes and spaces are ignored.")
    idempotency_key: str | None = strawberry.field(default=None, description="Repeat a call safely: the same key and input return the first result (1-255 characters).")


@strawberry.type(description="Result of `redeemProductKey`.")
class RedeemProductKeyPayload:
    subscription: Subscription | None = strawberry.field(default=None, description="The prepaid subscription the key created.")
    replayed: bool = strawberry.field(default=False, description="True when this is the stored result of an earlier call with the same idempotency key.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")
