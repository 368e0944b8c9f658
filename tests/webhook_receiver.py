"""A real HTTP receiver on 127.0.0.1 for webhook tests: it records every POST (path, headers,
body) and answers with the statuses it is told, or not at all (`hang`)."""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, AsyncIterator


@dataclass
class Received:
    """One request as the receiver read it."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)  # when it was read

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers `statuses` in turn (then `default`); `hang` makes it read requests and never
    answer, `hang_first` only the first that many; `delay` is the seconds it takes to answer.
    `received` holds every request it read, answered or not."""

    port: int = 0
    statuses: deque[int] = field(default_factory=deque)
    default: int = 200
    hang: bool = False
    hang_first: int = 0
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def events(self, path: str | None = None) -> list[dict[str, Any]]:
        """The event bodies received (at `path` only, if given), in arrival order."""
        return [r.event for r in self.received if path is None or r.path == path]

    async def wait_for(self, count: int, timeout: float = 20.0) -> None:
        """Until at least `count` requests arrived."""
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                _method, path, _version = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.received.append(Received(path, headers, body))
                self.arrived.set()
                if self.hang or len(self.received) <= self.hang_first:
                    await asyncio.sleep(3600)
                if self.delay:
                    await asyncio.sleep(self.delay)
                status = self.statuses.popleft() if self.statuses else self.default
                writer.write(f"HTTP/1.1 {status} X\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def receiving(**options: Any) -> AsyncIterator[Receiver]:
    """A Receiver listening on a free port of 127.0.0.1 for the block's duration."""
    if "statuses" in options:
        options["statuses"] = deque(options["statuses"])
    receiver = Receiver(**options)
    server = await asyncio.start_server(receiver._handle, "127.0.0.1", 0)
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        server.close()
        # Handlers of hanging requests are still sleeping: do not wait for them.
        for task in [t for t in asyncio.all_tasks() if t.get_coro().__qualname__.startswith("Receiver._handle")]:
            task.cancel()
