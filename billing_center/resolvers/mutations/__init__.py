"""Mutation resolvers, one module per subject. Each mutation is one function declared with
`registration.mutation`: it is the field that `schema.root.Mutation` lists and its resolver,
which decodes the input, calls one domain service and shapes the payload."""
