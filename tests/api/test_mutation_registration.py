"""How a mutation is declared (`resolvers.mutations.registration`, issue #16): one decorated
function is its field and its resolver. What every mutation then gets without writing it: a
described `input` argument, the caller required, refusals as `userErrors`, global IDs decoded
by type with the input field named."""

from __future__ import annotations

import pkgutil
from datetime import datetime, timezone

import strawberry
from strawberry.utils.str_converters import to_camel_case

from billing_center.domain.actor import Actor
from billing_center.domain.clock import FixedClock
from billing_center.domain.errors import DomainError, ErrorCode
from billing_center.resolvers import mutations
from billing_center.resolvers.context import Context
from billing_center.resolvers.mutations.registration import input_id, mutation
from billing_center.schema.mutations.billing import RunBillingInput, RunBillingPayload
from billing_center.schema.mutations.domains import RemoveDomainInput, RemoveDomainPayload
from tests.factories import gid

REMOVE = 'mutation R($id: ID!) { removeDomain(input: {domainId: $id}) { removedDomainId userErrors { code field } } }'
RUN = "mutation { runBilling { processed userErrors { code } } }"
SEEN: list[tuple[Actor | None, int | None]] = []


@mutation("Remove a domain.", input="The domain.")
async def remove_domain(actor: Actor, ctx: Context, data: RemoveDomainInput) -> RemoveDomainPayload:
    """A body that refuses domain 13 and otherwise echoes the decoded id."""
    domain_id = input_id(data, "domain_id", "Domain")
    if domain_id == 13:
        raise DomainError(ErrorCode.FORBIDDEN, "Not this one.", ("input", "domainId"))
    SEEN.append((actor, domain_id))
    return RemoveDomainPayload(removed_domain_id=str(domain_id))


@mutation("Run billing.", input="Optionally one tenant.", public=True)
async def run_billing(ctx: Context, data: RunBillingInput | None) -> RunBillingPayload:
    """A public body with an optional input."""
    SEEN.append((None, input_id(data, "tenant_id", "Tenant")))
    return RunBillingPayload(processed=1)


@strawberry.type
class Query:
    ok: bool = True


@strawberry.type
class Mutation:
    remove_domain = remove_domain
    run_billing = run_billing


SCHEMA = strawberry.Schema(query=Query, mutation=Mutation)
ADMIN = Actor.user(1, 1, ["GLOBAL_ADMIN"])


def _context(actor: Actor | None) -> Context:
    return Context(clock=FixedClock(datetime(2026, 1, 1, tzinfo=timezone.utc)), request_id="test", actor=actor)


def test_the_field_its_argument_and_their_descriptions_come_from_the_declaration():
    sdl = SCHEMA.as_str()
    assert '"""Remove a domain."""\n  removeDomain(\n    """The domain."""\n    input: RemoveDomainInput!\n  ): RemoveDomainPayload!' in sdl
    # An input annotated `X | None` may be left out.
    assert '    """Optionally one tenant."""\n    input: RunBillingInput = null\n  ): RunBillingPayload!' in sdl


async def test_the_body_gets_the_caller_and_the_decoded_id():
    # given
    SEEN.clear()
    # when
    result = await SCHEMA.execute(REMOVE, {"id": gid("Domain", 7)}, context_value=_context(ADMIN))
    # then
    assert result.errors is None
    assert result.data == {"removeDomain": {"removedDomainId": "7", "userErrors": []}}
    assert SEEN == [(ADMIN, 7)]


async def test_without_a_token_the_mutation_is_a_top_level_unauthenticated_error():
    SEEN.clear()
    result = await SCHEMA.execute(REMOVE, {"id": gid("Domain", 7)}, context_value=_context(None))
    [error] = result.errors
    assert error.original_error.code is ErrorCode.UNAUTHENTICATED
    assert SEEN == []


async def test_a_refusal_comes_back_as_a_user_error():
    result = await SCHEMA.execute(REMOVE, {"id": gid("Domain", 13)}, context_value=_context(ADMIN))
    assert result.data == {"removeDomain": {"removedDomainId": None,
                                            "userErrors": [{"code": "FORBIDDEN", "field": ["input", "domainId"]}]}}


async def test_an_id_of_another_type_is_not_found_naming_the_input_field():
    result = await SCHEMA.execute(REMOVE, {"id": gid("User", 7)}, context_value=_context(ADMIN))
    assert result.data["removeDomain"]["userErrors"] == [{"code": "NOT_FOUND", "field": ["input", "domainId"]}]


async def test_a_public_mutation_runs_without_a_token_and_an_omitted_input_decodes_to_none():
    SEEN.clear()
    result = await SCHEMA.execute(RUN, context_value=_context(None))
    assert result.data == {"runBilling": {"processed": 1, "userErrors": []}}
    assert SEEN == [(None, None)]


def test_declaring_a_mutation_in_a_subject_module_puts_it_in_the_schema():
    # given: the API's mutations, declared in `resolvers.mutations.<subject>` modules
    from billing_center.resolvers.mutations import registration
    from billing_center.schema.root import schema

    declared = [to_camel_case(name) for name in registration.declared()]
    # then: they are the schema's mutations, in declaration order, and nothing else is
    assert list(schema._schema.mutation_type.fields) == declared
    # and every subject module of the package is imported and declares some (a new mutation
    # needs no count updated here: the permission matrix's row is its guard)
    subjects = {module.name for module in pkgutil.iter_modules(mutations.__path__)} - {"registration"}
    assert {field.base_resolver.wrapped_func.__module__.rsplit(".", 1)[-1]
            for field in registration.declared().values()} == subjects
    # and one declared outside the package (this test module's) is not the API's
    assert "removeDomain" in declared and remove_domain not in registration.declared().values()
