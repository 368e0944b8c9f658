"""The deliverer: POSTs each endpoint's events, in sequence order, at least once (SPEC §9).

`billing-center serve` runs one in the background of each worker process; `billing-center
deliver-webhooks` runs one as its own process. Any number may run against one database: each
endpoint is held by one deliverer at a time (`webhook_queue.lease_endpoint`), so every attempt is made
by one of them only, and per endpoint in order. No transaction is open during a request to a
receiver, and a request's path never waits for one: a receiver that is slow, down or
answering errors costs the API nothing but this background task's time.

Each attempt connects to an address the URL's host resolves to *now*, checked as at
registration (`webhook_urls`; DNS rebinding is refused at delivery), with TLS verified for the
host name. Redirects are not followed; only a 2xx answer counts as delivered.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from billing_center.domain import events, models, webhook_queue
from billing_center.domain.clock import Clock, SystemClock
from billing_center.domain.errors import DomainError
from billing_center.domain.webhook_queue import Outcome
from billing_center.domain.webhook_urls import Resolver, Target, resolve_allowed, system_resolver
from billing_center.schema.ids import to_global_id
from billing_center.webhooks import payload, signature

log = logging.getLogger("billing_center.webhooks")

# Events read per statement, and statements per lease before the endpoint is let go (so
# other endpoints get their turn).
_BATCH = 50
_ROUNDS = 4
# Bytes of a receiver's answer read (and thrown away) before the connection is dropped.
_MAX_ANSWER_BYTES = 64 * 1024
_PRUNE_EVERY = timedelta(hours=1)


@dataclass
class _Turn:
    """A worker's turn at an endpoint it leased: how to send it an event; attempts made."""

    owner: str
    endpoint: dict[str, Any]
    stop: asyncio.Event | None
    send: Callable[[dict[str, Any], bytes], Awaitable[Outcome]]
    made: int = 0

    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()


@dataclass
class Deliverer:
    """Delivers due events. `production` applies the address rules (`webhook_urls`); `clock`
    is the wall clock (the tests' fixed one moves retries on)."""

    production: bool
    clock: Clock = field(default_factory=SystemClock)
    resolver: Resolver = system_resolver
    timeout: float = 10.0
    workers: int = 4
    first_retry: timedelta = webhook_queue.FIRST_RETRY
    poll_seconds: float = 1.0
    # How long a lease lasts without news; None: `timeout` + 30 s. Longer than `timeout`, so a
    # live deliverer never loses an endpoint in the middle of an attempt.
    lease_seconds: float | None = None
    event_retention: timedelta = webhook_queue.EVENT_RETENTION
    # The process's name in `lease_owner` (64 characters at most: a host name may have 64 by
    # itself); each worker leases as `<owner>/<n>`.
    owner: str = field(default_factory=lambda: f"{socket.gethostname()[:40]}:{uuid.uuid4().hex[:12]}")
    _pruned_at: datetime | None = None
    _tls: ssl.SSLContext | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.lease_seconds is not None and self.lease_seconds <= self.timeout:
            raise ValueError(f"the lease ({self.lease_seconds:g}s) must be longer than the timeout ({self.timeout:g}s)")

    @property
    def lease(self) -> timedelta:
        """How long a lease lasts without news: longer than one attempt can take. It is also
        how long the endpoints of a deliverer that died stay unserved."""
        return timedelta(seconds=self.timeout + 30 if self.lease_seconds is None else self.lease_seconds)

    async def run_once(self, stop: asyncio.Event | None = None) -> int:
        """Deliver everything due now (with `workers` endpoints at a time), or until `stop` is
        set (between two attempts); returns the number of attempts made."""
        workers = range(max(1, self.workers))
        # Every worker finishes (and lets its endpoint go) before an error is raised: none is
        # left running unawaited into the next round.
        results = await asyncio.gather(*(self._drain(f"{self.owner}/{n}", stop) for n in workers),
                                       return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return sum(results)  # type: ignore[arg-type]

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set (the attempt under way is finished and recorded, the
        rest waits for the next deliverer): at once when this process commits events, else
        every `poll_seconds` (events of other processes, retries that fall due). Prunes old
        events and attempts once an hour."""
        wake = events.listen()
        try:
            while not stop.is_set():
                wake.clear()
                try:
                    await self.run_once(stop)
                    await self.prune_if_due()
                except Exception:  # noqa: BLE001 - the database may be away; try again later
                    log.exception("webhook delivery failed; trying again in %ss", self.poll_seconds)
                waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
                await asyncio.wait(waiters, timeout=self.poll_seconds, return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters:
                    waiter.cancel()
        finally:
            events.stop_listening(wake)

    async def prune_if_due(self) -> None:
        """Delete events and attempts past their retention, at most once an hour."""
        now = self.clock.now()
        if self._pruned_at is not None and now - self._pruned_at < _PRUNE_EVERY:
            return
        self._pruned_at = now
        deleted, attempts = await webhook_queue.prune(now, self.event_retention)
        if deleted or attempts:
            log.info("pruned %s events and %s delivery attempts past their retention", deleted, attempts)

    async def _drain(self, owner: str, stop: asyncio.Event | None) -> int:
        # Each worker holds its endpoints in a name of its own: should a worker's lease ever
        # lapse (a stalled database) and another worker of this process take the endpoint,
        # the first one's writes are refused like any other deliverer's.
        made = 0
        while stop is None or not stop.is_set():
            endpoint = await webhook_queue.lease_endpoint(owner, self.clock.now(), self.lease)
            if endpoint is None:
                break
            try:
                attempts = await self._work(owner, endpoint, stop)
            except asyncio.CancelledError:
                # Shut down mid-attempt (serve's lifespan): let the endpoint go now rather than
                # when the lease ends; the attempt is made again (at least once).
                await webhook_queue.release(owner, endpoint["id"], self.clock.now())
                raise
            except Exception:
                log.exception("webhook endpoint %s: delivery stopped", endpoint["id"])
                await webhook_queue.release(owner, endpoint["id"], self.clock.now())
                raise
            made += attempts
            if attempts:
                # One line per lease, not per attempt: which deliverer served whom, and how far.
                log.info("webhook endpoint %s: %s delivery attempts", endpoint["id"], attempts)
        return made

    async def _hold(self, owner: str, endpoint: dict[str, Any]) -> bool:
        """Make sure the lease outlasts the attempt about to start (so no other deliverer can
        take the endpoint while it runs and send the next event beside it): extended when less
        than `timeout` of it is left. False when the endpoint is no longer ours."""
        now = self.clock.now()
        if endpoint["lease_until"] - now > timedelta(seconds=self.timeout):
            return True
        if not await webhook_queue.extend(owner, endpoint["id"], now + self.lease):
            return False
        endpoint["lease_until"] = now + self.lease
        return True

    @property
    def tls(self) -> ssl.SSLContext:
        """The TLS settings of every attempt (certificates verified), made once: loading the
        CA bundle takes ~15 ms of CPU, which per lease cost more than the deliveries and held
        `serve`'s event loop each time."""
        if self._tls is None:
            self._tls = httpx.create_ssl_context(verify=True, trust_env=False)
        return self._tls

    async def _work(self, owner: str, endpoint: dict[str, Any], stop: asyncio.Event | None) -> int:
        """Deliver what is due to one leased endpoint: redeliveries asked for by hand, then its
        events in order until one fails, the lease's share of work is done or `stop` is set.
        Every attempt starts with the lease held for at least `timeout` more (`_hold`)."""
        target, refusal = await self._resolve(endpoint["url"])
        async with httpx.AsyncClient(trust_env=False, follow_redirects=False, verify=self.tls) as client:
            turn = _Turn(owner, endpoint, stop, functools.partial(self._send, client, target, refusal, endpoint))
            if not await self._redeliver(turn):
                return turn.made
            now = self.clock.now()
            if turn.stopping() or endpoint["failing_since"] is not None or (
                    endpoint["next_attempt_at"] is not None and endpoint["next_attempt_at"] > now):
                await webhook_queue.release(owner, endpoint["id"], now)
                return turn.made
            through = await self._deliver_in_order(turn)
        if through is not None:  # None: the endpoint is no longer ours
            await webhook_queue.release(owner, endpoint["id"], self.clock.now(),
                                        through if through > endpoint["delivered_through"] else None)
        return turn.made

    async def _redeliver(self, turn: _Turn) -> bool:
        """The redeliveries asked for by hand that are due, oldest first; False when the
        endpoint is no longer ours."""
        endpoint = turn.endpoint
        redeliveries = await webhook_queue.due_redeliveries(endpoint["id"], self.clock.now())
        # Their events in one statement, their bodies in one pass.
        found = await models.Event.filter(id__in={p["event_id"] for p in redeliveries}).values() \
            if redeliveries else []
        by_id = {row["id"]: row for row in found}
        bodies = await payload.bodies(endpoint["tenant_id"], found) if found else {}
        for pending in redeliveries:
            if turn.stopping():
                break
            event = by_id.get(pending["event_id"])
            if event is None:
                continue
            sent = await self._attempt(turn, event, bodies[event["id"]])
            if sent is None:
                return False
            outcome, started = sent
            if not await webhook_queue.record_redelivery(
                    turn.owner, endpoint["id"], pending["id"], outcome, started, self.lease):
                return False
            endpoint["lease_until"] = started + self.lease
        return True

    async def _deliver_in_order(self, turn: _Turn) -> int | None:
        """The endpoint's events after `delivered_through` in sequence order, `_ROUNDS` batches
        at most: the sequence delivered through, or None when the endpoint is no longer ours."""
        endpoint = turn.endpoint
        through = endpoint["delivered_through"]
        for _ in range(_ROUNDS):
            if turn.stopping():
                break
            batch = await webhook_queue.next_events(endpoint, through, _BATCH)
            if not batch:
                break
            wanted = [row for row in batch if events.selects(endpoint["event_types"], row["type"])]
            bodies = await payload.bodies(endpoint["tenant_id"], wanted) if wanted else {}
            for row in batch:
                if row["id"] in bodies:
                    if turn.stopping():
                        break
                    sent = await self._attempt(turn, row, bodies[row["id"]])
                    if sent is None:
                        return None
                    outcome, started = sent
                    if not await webhook_queue.record_attempt(turn.owner, endpoint, row, outcome, started,
                                                              self.lease, self.first_retry):
                        return None
                through = row["sequence"]
        return through

    async def _attempt(self, turn: _Turn, event: dict[str, Any], body: bytes) -> tuple[Outcome, datetime] | None:
        """Send one event with the lease held for at least `timeout` more (`_hold`): its
        outcome and when the attempt started, or None when the endpoint is no longer ours."""
        if not await self._hold(turn.owner, turn.endpoint):
            return None
        started = self.clock.now()
        outcome = await turn.send(event, body)
        turn.made += 1
        return outcome, started

    async def _resolve(self, url: str) -> tuple[Target | None, str | None]:
        # Bounded like an attempt: the system resolver has no timeout of its own, and the
        # endpoint is held meanwhile.
        try:
            async with asyncio.timeout(self.timeout):
                return await resolve_allowed(url, self.production, self.resolver), None
        except TimeoutError:
            return None, f"the host did not resolve within {self.timeout:g}s"
        except DomainError as refused:
            return None, refused.message

    async def _send(self, client: httpx.AsyncClient, target: Target | None, refusal: str | None,
                    endpoint: dict[str, Any], event: dict[str, Any], body: bytes) -> Outcome:
        """One POST of `body`; its outcome (never raises for what a receiver does)."""
        if target is None:
            return Outcome(False, None, 0, f"not sent: {refusal}"[:200])
        address = target.addresses[0]
        host = f"[{address}]" if ":" in address else address
        default_port = 443 if target.scheme == "https" else 80
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "billing-center-webhooks/1",
            "Host": target.host if target.port == default_port else f"{target.host}:{target.port}",
            "Billing-Event-Id": to_global_id("Event", event["id"]),
            "Billing-Event-Sequence": str(event["sequence"]),
            signature.HEADER: signature.sign(endpoint["secret"], int(self.clock.now().timestamp()), body),
        }
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.timeout):
                async with client.stream("POST", f"{target.scheme}://{host}:{target.port}{target.path}",
                                         content=body, headers=headers, extensions=extensions,
                                         timeout=self.timeout) as response:
                    received = 0
                    async for chunk in response.aiter_raw():
                        received += len(chunk)
                        if received > _MAX_ANSWER_BYTES:
                            break
        except (TimeoutError, httpx.TimeoutException):
            return Outcome(False, None, _ms(started), f"no answer within {self.timeout:g}s")
        except httpx.HTTPError as error:
            return Outcome(False, None, _ms(started), f"{error.__class__.__name__}: {error}"[:200])
        return Outcome(200 <= response.status_code < 300, response.status_code, _ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
