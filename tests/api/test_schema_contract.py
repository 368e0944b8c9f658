"""The schema is a product: committed SDL is current and every element is documented."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
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
