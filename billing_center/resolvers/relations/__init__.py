"""Relation fields: how each loads, for many parents at once (see `loading`).

`declared` lists every relation field of the API (the type's field function and its kind of
relation over a typed loader) and fills `REGISTRY`, keyed by (type, GraphQL name), which the
loading, the fast paths and `execution.py` read."""

from billing_center.resolvers.relations import declared
from billing_center.resolvers.relations.declared import invoice_period
from billing_center.resolvers.relations.fast_paths import install_fast_paths, loaded_reader
from billing_center.resolvers.relations.loading import prefetch, resolve
from billing_center.resolvers.relations.registry import REGISTRY, Failed, Relation, joins_selected, with_joined
from billing_center.resolvers.relations.selections import edge_node_selections, fields_of, merge_fields

__all__ = [
    "REGISTRY", "Failed", "Relation", "declared", "edge_node_selections", "fields_of", "install_fast_paths",
    "invoice_period", "joins_selected", "loaded_reader", "merge_fields", "prefetch", "resolve", "with_joined",
]
