"""Billing center: a multi-tenant GraphQL API for the commerce side of an admin center."""
