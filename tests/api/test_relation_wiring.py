"""Every relation field is wired: a field handing over to `info.context.related` has a
relation declared for it (`resolvers.relations.declared`), and every declaration names a field
of the schema; a misspelt declaration fails at import, a forgotten one here (issue #16)."""

from __future__ import annotations

from billing_center.resolvers.relations import REGISTRY
from billing_center.schema import types
from billing_center.schema.root import schema


def _relation_fields() -> set[tuple[type, str]]:
    found = set()
    for cls in vars(types).values():
        definition = getattr(cls, "__strawberry_definition__", None)
        if not isinstance(cls, type) or definition is None or definition.origin is not cls:
            continue
        graphql_type = schema._schema.type_map[definition.name]
        for field in definition.fields:
            resolver = field.base_resolver
            if resolver is not None and "related" in resolver.wrapped_func.__code__.co_names:
                [name] = [n for n, f in graphql_type.fields.items() if f.extensions.get("strawberry-definition") is field]
                found.add((cls, name))
    return found


def test_every_relation_field_has_a_declared_relation_and_back() -> None:
    # given the schema's fields that load a relation
    wanted = _relation_fields()
    # when compared with the declarations
    declared = set(REGISTRY)
    # then each has exactly one, and none is left over
    assert wanted == declared
    assert len(wanted) >= 30
