"""A tiny HTTP/1.1 server on loopback that stands in for KIS's REST host and answers
whatever a test hands it: any status, any headers, any bytes (not a mock of kisweb's code:
the client talks to it over a real socket, through httpx, as it talks to KIS).

``answer(path)`` picks the ``Canned`` answer for each request; every request is logged
(method, path) so a test can count what was sent, e.g. that an order went out once.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Canned:
    """One answer as it goes on the wire; ``Content-Length`` is added from ``body``."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = (("content-type", "application/json; charset=utf-8"),)
    body: bytes = b""

    @classmethod
    def of(cls, body: Any, status: int = 200, **headers: str) -> Canned:
        """A JSON answer (``NaN``/``Infinity`` allowed, as Python's json reads them)."""
        text = json.dumps(body, ensure_ascii=False)
        extra = tuple((name.replace("_", "-"), value) for name, value in headers.items())
        return cls(status, (("content-type", "application/json; charset=utf-8"), *extra),
                   text.encode())  # fmt: skip


@dataclass
class HostileUpstream:
    answer: Callable[[str], Canned]
    requests: list[tuple[str, str]] = field(default_factory=list)
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def __aenter__(self) -> HostileUpstream:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def sent(self, path_part: str) -> int:
        return sum(1 for _, path in self.requests if path_part in path)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            path = target.split("?", 1)[0]
            self.requests.append((method, path))
            canned = self.answer(path)
            try:
                reason = http.HTTPStatus(canned.status).phrase
            except ValueError:
                reason = "Whatever"
            out = [f"HTTP/1.1 {canned.status} {reason}"]
            out += [f"{name}: {value}" for name, value in canned.headers]
            out += [f"content-length: {len(canned.body)}", "connection: close", "", ""]
            writer.write("\r\n".join(out).encode("latin-1") + canned.body)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
