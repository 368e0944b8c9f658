"""Mutation resolvers, one module per subject. Each mutation is one function declared with
`registration.mutation`: it is the field of `schema.root.Mutation` and its resolver, which
decodes the input, calls one domain service and shapes the payload. The schema lists the
mutations subject by subject, in the order these modules are imported here."""

from billing_center.resolvers.mutations import (  # noqa: F401 - each import declares its mutations
    identity,
    licenses,
    payment_methods,
    domains,
    subscriptions,
    product_keys,
    billing,
    webhooks,
)
