"""The ASGI application: /graphql (GraphiQL on GET in a browser), /health, and its lifespan."""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, AsyncIterator

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from tortoise import Tortoise

from billing_center import db, graphiql, http_spec, persisted_queries
from billing_center.access_log import AccessLog
from billing_center.config import Settings
from billing_center.domain.auth import Session, authenticate
from billing_center.domain.clock import Clock, SystemClock
from billing_center.domain.payment_gateway import PaymentGateway, gateway_named
from billing_center.domain.throttle import PointsBucket
from billing_center.redaction import install_log_redaction
from billing_center.resolvers.context import Context
from billing_center.schema.root import schema
from billing_center.transport import (
    BodyLimit,
    ConcurrencyLimit,
    NoStore,
    RequestTimeout,
    error_body,
    request_json_problem,
    respond,
    too_large_answer,
)

try:  # the exception Strawberry's views turn into an HTTP status (cross-web since 0.33x)
    from cross_web import HTTPException
except ImportError:  # pragma: no cover - older Strawberry
    from strawberry.http.exceptions import HTTPException  # type: ignore[no-redef]

log = logging.getLogger("billing_center.app")


class RequestIdentity:
    """ASGI middleware: gives every request an id (echoed as `X-Request-Id`) and, on
    /graphql, resolves its bearer token once.

    A request with a token that is unknown, revoked, expired or of a removed user is refused as a whole (HTTP 401,
    UNAUTHENTICATED): acting as anonymous would hide a broken integration. A request without
    a token goes on and may use the public fields (`products`, `signUp`, introspection).
    """

    def __init__(self, app: ASGIApp, settings: Settings, clock: Clock | None = None):
        self.app = app
        self.settings = settings
        # The application's own clock: token expiry is wall-clock time, never a sandbox
        # tenant's clock (a sandbox moved a year ahead must not expire its admin's tokens).
        self.clock = clock or SystemClock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:16]
        state = scope.setdefault("state", {})
        state["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        if scope["path"].rstrip("/") == "/graphql":
            token = _bearer_token(scope)
            if token is not None:
                try:
                    session = await authenticate(token, self.settings.operator_token, self.clock.now()) if token else None
                except Exception:
                    log.exception("authentication failed in request %s", request_id)
                    await respond(send_with_id, 503, error_body("Service unavailable.", "INTERNAL", request_id))
                    return
                if session is None:
                    await respond(
                        send_with_id, 401,
                        error_body("Invalid or revoked token.", "UNAUTHENTICATED", request_id),
                        extra=[(b"www-authenticate", b"Bearer")],
                    )
                    return
                state["session"] = session
        await self.app(scope, receive, send_with_id)


def _bearer_token(scope: Scope) -> str | None:
    """The bearer token of the request; "" for a malformed Authorization header."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return None


# U+0000 escaped in the document itself (the JSON walk sees only decoded text).
_NUL_ESCAPE = re.compile(r"\\u(?:0000|\{0+\})")
_NUL_MESSAGE = "Text must not contain the NUL character (U+0000)."


def _checked(request: Any) -> Any:
    """Refuse, once and here for every field of every operation, request JSON nested too deeply
    or carrying U+0000 (`transport.request_json_problem`): a clear 400 that does not repeat the
    value, instead of a recursion error or a database error deep inside."""
    problem = request_json_problem(request)
    query = request.get("query") if isinstance(request, dict) else None
    if problem is None and isinstance(query, str) and _NUL_ESCAPE.search(query):
        problem = _NUL_MESSAGE
    if problem is not None:
        raise HTTPException(400, problem)
    return request


class BillingGraphQL(GraphQL):
    """Strawberry's ASGI view with our context, a faster JSON encoder, the checks of request
    JSON, coded refusals, the cap on the answer's size (`transport`), the media types and
    statuses of GraphQL over HTTP (`http_spec`) and persisted queries (`persisted_queries`)."""

    def decode_json(self, data: str | bytes) -> object:
        return _checked(orjson.loads(data))

    def parse_query_params(self, params: Any) -> dict[str, Any]:
        return _checked(super().parse_query_params(params))

    def __init__(self, clock: Clock, gateway: PaymentGateway, production: bool = False,
                 points: PointsBucket | None = None, allow_sandbox_tenants: bool = True,
                 max_response_bytes: int = 10 * 1024 * 1024, **kwargs: Any):
        super().__init__(schema, **kwargs)
        self.clock = clock
        self.gateway = gateway
        self.production = production
        self.points = points
        self.allow_sandbox_tenants = allow_sandbox_tenants
        self.max_response_bytes = max_response_bytes
        self.persisted_queries = persisted_queries.PersistedQueryStore()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        request_id = state.get("request_id", "")
        request = Request(scope, receive)
        media_type = http_spec.response_media_type(request.headers.get("accept"))
        try:
            response = await self.run(request)
        except (HTTPException, persisted_queries.PersistedQueryError) as error:
            # Strawberry answers these in plain text: here they carry a code like every refusal.
            status, code, message, headers = http_spec.refusal(error)
            log.info("request %s refused with HTTP %d %s: %s", request_id, status, code, message)
            await respond(send, status, error_body(message, code, request_id), extra=headers, media_type=media_type)
            return
        if response.media_type != "application/json":  # GraphiQL's page
            await response(scope, receive, send)
            return
        body = getattr(response, "body", b"")
        if len(body) > self.max_response_bytes:
            await respond(send, 200, too_large_answer(len(body), self.max_response_bytes, request_id),
                          media_type=media_type)
            return
        http_spec.answer(response, media_type, state.get("request_error_code"))
        await response(scope, receive, send)

    async def parse_http_body(self, request: Any) -> Any:
        # Strawberry checks the type of `query`, `variables` and `extensions`, not this one.
        data = await super().parse_http_body(request)
        if not isinstance(data, list) and not isinstance(data.operation_name, (str, type(None))):
            raise HTTPException(400, "The GraphQL operation's `operationName` must be a string or null, if provided.")
        return data

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET carrying only a persisted query's hash is a request for data, not a browser's.
        return super().should_render_graphql_ide(request) and "extensions" not in request.query_params

    async def execute_single(self, request: Request, request_adapter: Any, sub_response: Any, context: Any,
                             root_value: Any, request_data: Any) -> Any:
        """Run one operation, its document sent or found by its hash (`persisted_queries`): a
        document found runs exactly as a sent one, and a sent one is kept once it passed
        parsing, validation and the limits."""
        persisted = persisted_queries.requested(request_data.extensions, request_data.query)
        if persisted is not None and not persisted.register:
            request_data.query = self.persisted_queries.document(persisted.sha256)
        result = await super().execute_single(request=request, request_adapter=request_adapter,
                                              sub_response=sub_response, context=context, root_value=root_value,
                                              request_data=request_data)
        if persisted is not None and persisted.register and not http_spec.is_request_error(result.data, result.errors):
            self.persisted_queries.keep(persisted.sha256, request_data.query)
        return result

    async def process_result(self, request: Request, result: Any) -> Any:
        processed = await super().process_result(request, result)
        if http_spec.is_request_error(result.data, result.errors):
            # Execution never started: no `data` entry at all (GraphQL spec, "Response").
            del processed["data"]
            code = (result.errors[0].extensions or {}).get("code")
            request.scope.setdefault("state", {})["request_error_code"] = code or ""
        return processed

    async def get_context(self, request: Request, response: Any) -> Context:  # type: ignore[override]
        state = request.scope.get("state", {})
        session: Session | None = state.get("session")
        return Context(
            clock=self.clock,
            gateway=self.gateway,
            request_id=state.get("request_id", ""),
            actor=session.actor if session else None,
            tenant_clock_now=session.tenant_clock_now if session else None,
            tenant_row=session.tenant if session else None,
            production=self.production,
            points=self.points,
            allow_sandbox_tenants=self.allow_sandbox_tenants,
            client_address=request.client.host if request.client else "",
            request_state=state,
        )

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def render_graphql_ide(self, request: Request) -> Response:  # type: ignore[override]
        return graphiql.page()  # our own files, not a CDN's (issue #13)


async def health(request: Request) -> Response:
    """For load balancers: 200 when the database answers, 503 otherwise."""
    try:
        await Tortoise.get_connection("default").execute_query("SELECT 1")
    except Exception:
        log.exception("health check failed")
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})


def _tune_gc() -> None:
    # Under concurrency the default thresholds make the collector scan every in-flight
    # response tree again and again: measured 2x CPU per request on large responses
    # (PERFORMANCE.md §4). Startup objects are frozen out of collection altogether.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def create_app(
    settings: Settings | None = None,
    clock: Clock | None = None,
    manage_db: bool = True,
    gateway: PaymentGateway | None = None,
) -> Starlette:
    """The application. `manage_db=False` leaves opening the database to the caller (tests).
    The payment gateway is the one the settings name (SPEC §2) unless another is given;
    ConfigurationError when production names none."""
    settings = settings or Settings.from_env()
    install_log_redaction()
    clock = clock or SystemClock()
    graphql = BillingGraphQL(
        clock=clock,
        gateway=gateway or gateway_named(settings.require_payment_gateway()),
        graphql_ide="graphiql" if settings.graphiql else None,
        production=settings.production,
        allow_sandbox_tenants=settings.allow_sandbox_tenants,
        points=PointsBucket(settings.rate_limit_points) if settings.rate_limit_points > 0 else None,
        max_response_bytes=settings.max_response_bytes,
        allow_queries_via_get=True,
    )
    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/health", health, methods=["GET"]),
        *(graphiql.routes() if settings.graphiql else ()),
    ]
    return Starlette(routes=routes, middleware=_middleware(settings, clock), lifespan=_lifespan(settings, manage_db))


def _lifespan(settings: Settings, manage_db: bool) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """The worker's life: the database opened and closed (unless the caller does it) and,
    meanwhile, the webhook deliverer running in the background."""

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if manage_db:
            await db.init_db(settings.database_url, settings.db_pool_size, settings.statement_timeout_ms)
            _tune_gc()
        # Webhooks are delivered by a background task of the worker (SPEC §9: never on a
        # request's path), so a newcomer needs nothing else running.
        stop = asyncio.Event()
        delivering = (asyncio.create_task(settings.deliverer().run_forever(stop))
                      if manage_db and settings.webhook_delivery else None)
        try:
            yield
        finally:
            if delivering is not None:
                stop.set()
                # A delivery cut short is made again by the next deliverer (at least once).
                try:
                    await asyncio.wait_for(delivering, 2)
                except (TimeoutError, asyncio.CancelledError):
                    pass
            if manage_db:
                await db.close_db()

    return lifespan


def _middleware(settings: Settings, clock: Clock) -> list[Middleware]:
    """Outermost first: the access line, shedding, request id and token, CORS, then the body
    and time limits."""
    cors = [Middleware(
        CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
        allow_headers=["authorization", "content-type"], expose_headers=["x-request-id"], max_age=600,
    )] if settings.cors_origins else []
    return [
        Middleware(AccessLog),  # one line per request, shed and refused ones too
        Middleware(NoStore),  # around everything: shed and refused answers too
        # An overloaded worker sheds a request before even its token is looked up.
        Middleware(ConcurrencyLimit, limit=settings.max_concurrency),
        Middleware(RequestIdentity, settings=settings, clock=clock),
        *cors,
        Middleware(BodyLimit, max_bytes=settings.max_body_bytes),
        Middleware(RequestTimeout, seconds=settings.request_timeout_seconds),
    ]
