"""The raw floor: a bare ASGI app (no GraphQL, no ORM) answering POST /graphql with ONE SQL
statement in which PostgreSQL builds the whole JSON tree (json_agg / json_build_object).

It reads the tenant id from the JSON body's `variables.tenantId` and returns the same tree, in
the same shape, as the PostGraphile query of the peers benchmark:
    {"data": {"tenant": {"name", "subscriptions": [{"quantity", "product": {"name"},
              "licenseAssignments": [{"user": {"displayName"}}]}]}}}

    FLOOR_DATABASE_URL=postgresql://... uvicorn floor:app --app-dir bench/peers --port P
"""

from __future__ import annotations

import json
import os

import asyncpg

SQL = """
SELECT json_build_object('data', json_build_object('tenant', (
  SELECT json_build_object(
    'name', t.name,
    'subscriptions', COALESCE((
      SELECT json_agg(json_build_object(
        'quantity', s.quantity,
        'product', json_build_object('name', p.name),
        'licenseAssignments', COALESCE((
          SELECT json_agg(json_build_object('user', json_build_object('displayName', u.display_name)) ORDER BY la.id)
          FROM license_assignment la JOIN app_user u ON u.id = la.user_id
          WHERE la.subscription_id = s.id AND la.tenant_id = t.id), '[]'::json)
      ) ORDER BY s.id)
      FROM subscription s JOIN product p ON p.id = s.product_id
      WHERE s.tenant_id = t.id), '[]'::json))
  FROM tenant t WHERE t.id = $1)))::text
"""

DSN = os.environ.get("FLOOR_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/billing_peers")
POOL_SIZE = int(os.environ.get("FLOOR_POOL_SIZE", "10"))
_pool: asyncpg.Pool | None = None
_HEADERS = [(b"content-type", b"application/json")]


async def _lifespan(receive, send) -> None:
    global _pool
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            _pool = await asyncpg.create_pool(DSN, min_size=POOL_SIZE, max_size=POOL_SIZE)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if _pool is not None:
                await _pool.close()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _respond(send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": _HEADERS + [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    if scope["method"] != "POST":
        await _respond(send, 200, b'{"ok":true}')  # health
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    try:
        tenant_id = int((json.loads(body).get("variables") or {}).get("tenantId"))
    except (TypeError, ValueError):
        await _respond(send, 200, b'{"data":{"__typename":"Query"}}')  # readiness probe, no tenant
        return
    text = await _pool.fetchval(SQL, tenant_id)
    await _respond(send, 200, text.encode())
