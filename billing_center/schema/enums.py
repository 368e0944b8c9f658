"""GraphQL enums mirroring the domain enums, each value with its description (GraphiQL shows them).

`mirror` fails at import when a domain value has no description, so a new domain value cannot
reach the schema undocumented. GraphQL values equal the domain values, so converting is
`GraphQLEnum(domain_value)` one way and `DomainEnum(graphql_value.value)` the other.
"""

from __future__ import annotations

from enum import Enum

import strawberry

from billing_center.domain import models, webhooks
from billing_center.domain.errors import ErrorCode as DomainErrorCode
from billing_center.domain.available_actions import Action
from billing_center.domain.billing.dunning import RETRY_AFTER_DAYS
from billing_center.domain.billing.transitions import TransitionKind as DomainTransitionKind
from billing_center.domain.licenses import MAX_USERS_PER_CALL, Outcome
from billing_center.domain.product_keys import KEY_LENGTH
from billing_center.domain.subscription_rules import DISABLED_PERIOD, EXPIRED_PERIOD, MCA_CANCELLATION_WINDOW

# The numbers of the rules, as the descriptions say them (domain.subscription_rules holds them).
_EXPIRED_DAYS = EXPIRED_PERIOD.days
_DISABLED_DAYS = DISABLED_PERIOD.days
_RETRIES = ", ".join(str(days) for days in RETRY_AFTER_DAYS[:-1]) + f" and {RETRY_AFTER_DAYS[-1]}"


def mirror(domain_enum: type[Enum], description: str, values: dict[str, str], name: str | None = None) -> type[Enum]:
    """A Strawberry enum with the members of `domain_enum`, described by `values`, named like the
    domain enum unless the public contract (API.md) names it `name`."""
    members = {
        member.name: strawberry.enum_value(member.value, description=values[member.name])
        for member in domain_enum
    }
    extra = set(values) - set(members)
    if extra:
        raise ValueError(f"descriptions for unknown {domain_enum.__name__} values: {extra}")
    graphql_name = name or domain_enum.__name__
    return strawberry.enum(Enum(graphql_name, members), description=description)  # type: ignore[return-value]


Cloud = mirror(models.Cloud, "The cloud a tenant lives in; the admin center address differs per cloud.", {
    "WORLDWIDE": "The worldwide commercial cloud.",
    "GERMANY": "The cloud for Germany.",
    "CHINA_21VIANET": "The cloud operated by 21Vianet in China.",
})

Role = mirror(models.Role, "A user's role in their tenant; a user may hold several, and a tenant always keeps a global admin.", {
    "GLOBAL_ADMIN": "Manages everything, including users, billing and licences.",
    "BILLING_ADMIN": "Buys, cancels, reactivates and pays; manages money, not people.",
    "LICENSE_ADMIN": "Assigns and unassigns the organization's licences.",
    "USER": "A plain user: may buy self-service products for themself.",
})

BillingAccountType = mirror(models.BillingAccountType, "The agreement a billing account is under; it decides how cancellation and reactivation work.", {
    "MCA": f"Microsoft Customer Agreement: {MCA_CANCELLATION_WINDOW.days}-day cancellation window; reactivation creates a new subscription.",
    "MOSA": "Microsoft Online Subscription Agreement: cancel at any time; reactivation revives the same subscription.",
})

ChargeSchedule = mirror(models.ChargeSchedule, "When renewals are charged: together on the account's billing day, or each on its own renewal day.", {
    "ACCOUNT_BILLING_DAY": "Renewals are collected together on the account's next billing day.",
    "RENEWAL_DAY": "Each subscription is charged on its own renewal day.",
})

CommitmentTerm = mirror(models.CommitmentTerm, "The commitment term of a subscription.", {
    "MONTHLY": "Renews every month.",
    "ANNUAL": "Renews every year.",
})

SubscriptionStatus = mirror(models.SubscriptionStatus, f"A subscription's status. A term that ends without renewal is EXPIRED for {_EXPIRED_DAYS} days, then DISABLED for {_DISABLED_DAYS} days, then DELETED; a cancelled one is DISABLED at once.", {
    "ACTIVE": "In service.",
    "EXPIRED": f"The term ended with auto-renew off; users keep working for {_EXPIRED_DAYS} days.",
    "DISABLED": f"Users lost the service; admins can still read everything for {_DISABLED_DAYS} days.",
    "DELETED": "Gone for good; only support can help.",
})

StatusReason = mirror(models.StatusReason, "Why a subscription is not active.", {
    "CANCELLED": "An admin or its buyer cancelled it.",
    "TERM_ENDED": "Its term ended with auto-renew off.",
    "NON_PAYMENT": "The last retry of a failed charge failed.",
    "DISABLED_BY_PROVIDER": "The provider disabled it.",
})

PurchaseChannel = mirror(models.PurchaseChannel, "How a subscription was bought.", {
    "ADMIN": "Bought by an admin for the organization.",
    "SELF_SERVICE": "Bought by a plain user for themself, on their own billing account.",
    "PRODUCT_KEY": "Created by redeeming a prepaid product key.",
    "TRIAL": "Started as a free trial.",
})

CancellationReason = mirror(models.CancellationReason, "Why a subscription is cancelled.", {
    "TOO_EXPENSIVE": "It costs too much.",
    "NOT_USING": "It is not used.",
    "SWITCHING_PRODUCT": "Moving to another product.",
    "MISSING_FEATURES": "It lacks something needed.",
    "OTHER": "Another reason (see the feedback).",
})

SelfServicePolicy = mirror(models.SelfServicePolicy, "Whether plain users may buy a product themselves.", {
    "ALLOW": "Self-service purchases and trials are allowed.",
    "TRIALS_ONLY": "Only self-service trials are allowed.",
    "DENY": "No self-service purchases.",
})

LicenseState = mirror(models.LicenseState, "Whether an assigned licence gives service now.", {
    "ACTIVE": "The user has the service.",
    "SUSPENDED": "The subscription is disabled; the seat is kept but gives no service.",
})

InvoiceStatus = mirror(models.InvoiceStatus, "An invoice's status: OPEN until paid; PAST_DUE when a charge failed (it is retried); PAID; VOID when credits left nothing to pay.", {
    "OPEN": "Issued and not yet paid (a credit note: not yet refunded).",
    "PAID": "Paid in full, or nothing was due (a credit note: refunded).",
    "PAST_DUE": "A charge was attempted and failed.",
    "VOID": "Credits took away everything it asked and nothing was collected; nothing is owed.",
})

InvoiceLineKind = mirror(models.InvoiceLineKind, "What an invoice line is for.", {
    "PURCHASE": "A new subscription.",
    "RENEWAL": "A new term of a subscription.",
    "PRORATED_CHARGE": "Licences added during a term, charged pro rata.",
    "PRORATED_CREDIT": "Licences removed or a cancellation, credited pro rata.",
})

PaymentAttemptStatus = mirror(models.PaymentAttemptStatus, "The outcome of a charge or refund.", {
    "SUCCEEDED": "The card was charged (or, for a refund, credited).",
    "FAILED": "The charge was declined (or the refund did not go through).",
})

InvoiceKind = mirror(models.InvoiceKind, "What a billing document is: an invoice asks for money, a credit note pays some back.", {
    "INVOICE": "Charges (net of credits) the customer pays; nothing due when credits cover them.",
    "CREDIT_NOTE": "Credits larger than the charges of a charge day: the difference is refunded to the card on file.",
})

PaymentAttemptKind = mirror(models.PaymentAttemptKind, "Which way money moved at the gateway.", {
    "CHARGE": "Money taken from the card for an invoice.",
    "REFUND": "Money paid back to the card for a credit note.",
})

ErrorCode = mirror(DomainErrorCode, "What went wrong, as a stable code a script can act on.", {
    "NOT_FOUND": "No such object in your tenant (also: it belongs to another tenant).",
    "FORBIDDEN": "Your roles do not allow this.",
    "INVALID_INPUT": "An input value is malformed or out of range; see `field`.",
    "UNAUTHENTICATED": "The bearer token is missing, unknown, revoked or expired, or its user was removed.",
    "ALREADY_EXISTS": "An object with this unique name exists already.",
    "READ_ONLY_SELF_SERVICE": "Admins may read but not change a user's self-service subscription.",
    "TOO_MANY_USERS": f"At most {MAX_USERS_PER_CALL} users per call.",
    "USER_NOT_IN_TENANT": "The user is not a user of your tenant.",
    "INSUFFICIENT_LICENSES": "Not enough available licences.",
    "QUANTITY_BELOW_ASSIGNED": "The new total is below the number of assigned licences; unassign first.",
    "SPENDING_LIMIT": "The billing profile's subscriptions would cost more than 1,000,000,000.00 per term together; use another billing profile.",
    "CONTACT_SUPPORT_TO_CANCEL": "Too many licences assigned to cancel online; contact support or unassign first.",
    "DOMAIN_MUST_BE_REMOVED": "A custom domain attached to the subscription must be removed first.",
    "INVALID_STATUS": "The subscription's status does not allow this.",
    "REACTIVATION_UNAVAILABLE": "The subscription cannot be reactivated; contact support.",
    "PAYMENT_METHOD_REQUIRED": "A payment method is needed: give an existing one or a new card.",
    "PAYMENT_DECLINED": "The card was declined; nothing was changed.",
    "CARD_INVALID": "The card number, expiry or security code is not valid.",
    "PRODUCT_KEY_MALFORMED": f"A product key is {KEY_LENGTH} letters and digits (XXXXX-XXXXX-XXXXX-XXXXX-XXXXX).",
    "PRODUCT_KEY_UNKNOWN": "No such product key.",
    "PRODUCT_KEY_ALREADY_REDEEMED": "The product key was redeemed already.",
    "PRODUCT_KEY_WRONG_CLOUD": "The product key is not valid in your tenant's cloud.",
    "PRODUCT_KEY_EXPIRED": "The product key has expired.",
    "THROTTLED": "Too many attempts or points in too short a time; wait `retryAfter` seconds and try again.",
    "NOT_SELF_SERVICE": "The product cannot be bought self-service.",
    "IDEMPOTENCY_KEY_REUSED": "The idempotency key was used with a different input.",
    "CLOCK_NOT_SANDBOX": "Only sandbox tenants have a clock that can be moved.",
    "CANCELLATION_WINDOW_CLOSED": "The cancellation window has closed; turn auto-renew off instead.",
    "STATE_CHANGED": "The subscription changed since the version you gave; reload and retry.",
    "SELF_SERVICE_NOT_ALLOWED": "Your organization's policy does not allow this self-service purchase.",
    "TRIAL_ALREADY_USED": "You (self-service) or your organization (admins) have had a trial of this product already.",
    "SANDBOX_NOT_ALLOWED": "This deployment does not create sandbox tenants (production, unless its operator allows them).",
    "TOKEN_LIMIT_REACHED": "You have the most live API tokens allowed (50); revoke one first.",
    "LAST_GLOBAL_ADMIN": "The change would leave the organization without a global admin.",
    "BILLING_ACCOUNT_OWNER": "The user owns the organization's billing account and cannot be removed.",
    "WEBHOOK_URL_NOT_ALLOWED": "The webhook URL is refused: not an http(s) URL, or (outside development) not https or resolving to a loopback, private, link-local or metadata address.",
    "WEBHOOK_ENDPOINT_LIMIT": "The organization already has the most webhook endpoints it may have.",
})


LicenseOutcome = mirror(Outcome, "What a licence call did for one user.", {
    "ASSIGNED": "The user got a seat.",
    "ALREADY_ASSIGNED": "The user already holds the product: nothing changed.",
    "UNASSIGNED": "The user's seat was taken back and is available at once.",
    "NOT_ASSIGNED": "The user held no seat there: nothing changed.",
})


# API.md names it SubscriptionAction: a bare `Action` in the SDL reads as anything's action.
SubscriptionAction = mirror(Action, "Something a caller can do with a subscription; `availableActions` says whether it is allowed now.", {
    "CANCEL": "Cancel it (`cancelSubscription`).",
    "REACTIVATE": "Reactivate it (`reactivateSubscription`).",
    "BUY_LICENSES": "Raise its licence count (`updateLicenseQuantity`).",
    "REMOVE_LICENSES": "Lower its licence count (`updateLicenseQuantity`).",
    "ASSIGN_LICENSES": "Assign its licences to users (`assignLicenses`).",
    "TURN_ON_AUTO_RENEW": "Turn auto-renew on (`setAutoRenew`).",
    "TURN_OFF_AUTO_RENEW": "Turn auto-renew off (`setAutoRenew`).",
}, name="SubscriptionAction")


TransitionKind = mirror(DomainTransitionKind, "What the billing engine did: renewals, expiry, invoices, charges and refunds.", {
    "RENEWED": "A term ended with auto-renew on: a new term started and its renewal charge is outstanding.",
    "TRIAL_CONVERTED": "A trial ended with auto-renew on and a payment method: it became a paid term.",
    "EXPIRED": f"A term (or trial) ended without renewal: EXPIRED for {_EXPIRED_DAYS} days, users keep working.",
    "DISABLED": f"Expired for {_EXPIRED_DAYS} days: DISABLED for {_DISABLED_DAYS} days, users lose the service.",
    "DELETED": f"Disabled for {_DISABLED_DAYS} days: DELETED.",
    "INVOICE_ISSUED": "A charge day closed: the outstanding lines due went on the profile's one invoice of the day "
                      "(nothing due when credits cover the charges).",
    "CREDIT_NOTE_ISSUED": "A charge day closed with more credits than charges: a credit note for the difference, "
                          "refunded the same day.",
    "PAYMENT_SUCCEEDED": "An invoice was charged and is paid.",
    "PAYMENT_FAILED": f"A charge was declined: the invoice is past due and retried {_RETRIES} days after the first failure.",
    "REFUND_SUCCEEDED": "A credit note's amount was refunded to the card on file.",
    "REFUND_FAILED": "A refund did not go through; it is tried again the next day.",
    "DISABLED_FOR_NON_PAYMENT": "The last retry failed: the subscription is DISABLED with NON_PAYMENT, and the days "
                                "from then on are credited (the past-due invoice asks only for the days served).",
})


@strawberry.enum(description="Which invoices to list, by issue date.")
class InvoicePeriod(Enum):
    LAST_3_MONTHS = strawberry.enum_value("LAST_3_MONTHS", description="Issued in the last 3 months (the default).")
    LAST_6_MONTHS = strawberry.enum_value("LAST_6_MONTHS", description="Issued in the last 6 months.")
    CUSTOM = strawberry.enum_value("CUSTOM", description="Issued between `from` and `to`, both inclusive.")

WebhookEndpointStatus = mirror(webhooks.EndpointStatus, "How a webhook endpoint's deliveries are going.", {
    "HEALTHY": "Events are delivered (a failing event is being retried, with backoff, for up to 3 days).",
    "FAILING": "An event failed for 3 days: delivery stopped at it and resumes, from it, once the endpoint is enabled again.",
    "DISABLED": "Turned off by an admin: nothing is sent.",
}, name="WebhookEndpointStatus")

DeliveryStatus = mirror(models.DeliveryStatus, "The outcome of one webhook delivery attempt.", {
    "PENDING": "A redelivery asked for by hand, not made yet.",
    "SUCCEEDED": "The receiver answered with a 2xx status.",
    "FAILED": "No 2xx answer: another status, a timeout, a connection error or a refused address.",
})
