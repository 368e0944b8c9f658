"""The query compiler: a read answered by one SQL statement that builds its JSON (issue #15).

For a query's root fields it knows (`catalogue`: `tenant`, `viewer`, `subscriptions`,
`products` and `node(id:)` of a subscription, user, product or tenant, and below them), the
compiler (`compiler`) writes one statement with a column per root field: each object with
`json_build_object` (PostgreSQL) or `json_object` (SQLite), each to-one relation as a
correlated subquery, each connection as a subquery that fetches `limit + 1` rows in key order
(keyset cursors as bounds), numbers them, and aggregates the first `limit` into `edges` with
`json_agg` / `json_group_array`, its `pageInfo` from the row count and its cursors,
`totalCount` as a count with the same conditions. Tenant scoping and visibility are the same
SQL the regular path runs (`domain.visibility.subscriptions_sql` through
`loaders.SubscriptionFilter`; tenant-wide users, global products). Plans are cached per
operation and variable shape (`runner`); the database's JSON text goes into the response as
it is.

What it does not know is left to the regular path field by field, in the same response
(`holes`): a computed field such as `availableActions` is executed by graphql-core on the
objects the statement returned, a root field such as `invoices` beside the statement.

It runs inside execution (`execution.LeanExecutionContext`), so only after authentication,
the document limits, validation, the node budget and the rate points; a request whose
arguments a resolver would refuse, or whose hole reports an error, takes the regular path for
the whole operation, which gives the error.
"""

from billing_center.resolvers.compiled.runner import answer

__all__ = ["answer"]
