"""The schema is a product: committed SDL is current and every element is documented."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    build_schema,
)

from billing_center.cli import schema_sdl
from billing_center.schema.root import schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"
BUILT_IN = {"String", "Int", "Float", "Boolean", "ID"}


def undocumented() -> list[str]:
    """Every type, field, argument, input field and enum value without a description."""
    missing: list[str] = []
    for name, graphql_type in schema._schema.type_map.items():
        if name.startswith("__") or name in BUILT_IN:
            continue
        if not graphql_type.description:
            missing.append(name)
        if isinstance(graphql_type, (GraphQLObjectType, GraphQLInterfaceType)):
            for field_name, field in graphql_type.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                missing += [
                    f"{name}.{field_name}({arg})" for arg, a in field.args.items() if not a.description
                ]
        elif isinstance(graphql_type, GraphQLInputObjectType):
            missing += [f"{name}.{f}" for f, field in graphql_type.fields.items() if not field.description]
        elif isinstance(graphql_type, GraphQLEnumType):
            missing += [f"{name}.{v}" for v, value in graphql_type.values.items() if not value.description]
    return missing


def test_committed_schema_is_current():
    assert SCHEMA_FILE.read_text() == schema_sdl(), (
        "schema.graphql is stale: run `billing-center export-schema`"
    )


def test_every_schema_element_has_a_description():
    assert undocumented() == []


@pytest.mark.parametrize(
    "type_name, fields",
    [
        ("Tenant", {"id", "name", "cloud", "adminCenterUrl", "domains", "users"}),
        ("User", {"id", "displayName", "email", "roles", "licenseAssignments"}),
        ("BillingAccount", {"id", "name", "type", "owner", "billingDay", "chargeSchedule",
                            "billingProfiles", "outstandingBalance", "pastDueBalance", "creditBalance"}),
        ("BillingProfile", {"id", "name", "billingAccount", "paymentMethod", "invoices"}),
        ("PaymentMethod", {"id", "brand", "last4", "expiryMonth", "expiryYear", "nameOnCard", "address"}),
        ("Product", {"id", "sku", "name", "monthlyPrice", "annualPrice", "commitmentTerms",
                     "selfService", "trialAvailable"}),
        ("LicenseAssignment", {"id", "user", "subscription", "product", "state", "assignedAt"}),
        ("Invoice", {"id", "number", "billingProfile", "issueDate", "periodStart", "periodEnd",
                     "status", "total", "amountDue", "lines", "paymentAttempts"}),
        ("InvoiceLine", {"kind", "description", "subscription", "quantity", "unitPrice", "amount",
                         "periodStart", "periodEnd", "explanation"}),
        ("Query", {"node", "nodes", "viewer", "tenant", "products", "subscriptions",
                   "licenseSummary", "billingAccounts", "invoices", "auditLog"}),
    ],
)
def test_contract_names_of_api_md_exist(type_name, fields):
    graphql_type = schema._schema.type_map[type_name]
    assert fields <= set(graphql_type.fields)


def descriptions() -> dict[str, str]:
    """Every description of the public schema, keyed by the element it describes."""
    found: dict[str, str] = {}
    for name, graphql_type in schema._schema.type_map.items():
        if name.startswith("__"):
            continue
        found[name] = graphql_type.description or ""
        if isinstance(graphql_type, (GraphQLObjectType, GraphQLInterfaceType)):
            for field_name, field in graphql_type.fields.items():
                found[f"{name}.{field_name}"] = field.description or ""
                for arg, argument in field.args.items():
                    found[f"{name}.{field_name}({arg})"] = argument.description or ""
        elif isinstance(graphql_type, GraphQLInputObjectType):
            for field_name, field in graphql_type.fields.items():
                found[f"{name}.{field_name}"] = field.description or ""
        elif isinstance(graphql_type, GraphQLEnumType):
            for value_name, value in graphql_type.values.items():
                found[f"{name}.{value_name}"] = value.description or ""
    return found


def test_committed_sdl_names_its_root_types_so_the_subscription_entity_is_no_root():
    """Issue #13 item 4: standard tools read the SDL without guessing roots by name."""
    # given: the committed file, read as graphql-js and codegen tools read it
    built = build_schema(SCHEMA_FILE.read_text())
    # then
    assert built.query_type is not None and built.query_type.name == "Query"
    assert built.mutation_type is not None and built.mutation_type.name == "Mutation"
    assert built.subscription_type is None
    assert isinstance(built.type_map["Subscription"], GraphQLObjectType)
    assert "Node" in {interface.name for interface in built.type_map["Subscription"].interfaces}


def test_exported_sdl_starts_with_a_schema_block():
    """Issue #13 item 4: the `schema { query mutation }` block is written even though the
    root names are the default ones (graphql-core's printer leaves it out then)."""
    sdl = schema_sdl()
    assert sdl.startswith("schema {\n  query: Query\n  mutation: Mutation\n}\n")
    assert sdl.count("schema {") == 1


def test_no_description_cites_the_spec_by_section_number():
    """Issue #13 item 5: GraphiQL's users cannot look up "SPEC §5"; descriptions say the rule."""
    citing = {element: text for element, text in descriptions().items()
              if "§" in text or "SPEC" in text or "API.md" in text}
    assert citing == {}


# API.md "Enums (values that must exist)", by the contract's names.
API_MD_ENUMS = {
    "SubscriptionStatus": {"ACTIVE", "EXPIRED", "DISABLED", "DELETED"},
    "StatusReason": {"CANCELLED", "TERM_ENDED", "NON_PAYMENT", "DISABLED_BY_PROVIDER"},
    "PurchaseChannel": {"ADMIN", "SELF_SERVICE", "PRODUCT_KEY", "TRIAL"},
    "CommitmentTerm": {"MONTHLY", "ANNUAL"},
    "CancellationReason": {"TOO_EXPENSIVE", "NOT_USING", "SWITCHING_PRODUCT", "MISSING_FEATURES", "OTHER"},
    "Cloud": {"WORLDWIDE", "GERMANY", "CHINA_21VIANET"},
    "Role": {"GLOBAL_ADMIN", "BILLING_ADMIN", "LICENSE_ADMIN", "USER"},
    "InvoiceStatus": {"OPEN", "PAID", "PAST_DUE", "VOID"},
    "SubscriptionAction": {"CANCEL", "REACTIVATE", "BUY_LICENSES", "REMOVE_LICENSES", "ASSIGN_LICENSES",
                           "TURN_ON_AUTO_RENEW", "TURN_OFF_AUTO_RENEW"},
    "InvoicePeriod": {"LAST_3_MONTHS", "LAST_6_MONTHS", "CUSTOM"},
    "SelfServicePolicy": {"ALLOW", "TRIALS_ONLY", "DENY"},
    "ChargeSchedule": {"ACCOUNT_BILLING_DAY", "RENEWAL_DAY"},
    "BillingAccountType": {"MCA", "MOSA"},
    "LicenseState": {"ACTIVE", "SUSPENDED"},
    "InvoiceKind": {"INVOICE", "CREDIT_NOTE"},
    "PaymentAttemptKind": {"CHARGE", "REFUND"},
}


@pytest.mark.parametrize("enum_name", sorted(API_MD_ENUMS))
def test_enums_carry_the_names_of_api_md(enum_name):
    """Issue #13 item 5: API.md's `SubscriptionAction` was called `Action` in the schema."""
    graphql_type = schema._schema.type_map.get(enum_name)
    assert isinstance(graphql_type, GraphQLEnumType), f"{enum_name} is missing"
    assert API_MD_ENUMS[enum_name] <= set(graphql_type.values)


def test_available_actions_are_of_the_contracts_subscription_action_enum():
    state = schema._schema.type_map["SubscriptionActionState"]
    assert str(state.fields["action"].type) == "SubscriptionAction!"
    assert "Action" not in schema._schema.type_map
