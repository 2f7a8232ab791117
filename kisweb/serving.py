"""The ASGI server every kisweb web process runs: ``python -m kisweb.serving --port 8001``.

uvicorn with the sans-I/O ``websockets`` protocol, chosen by measurement (issue #11,
``bench/bench_fanout.py``): one frame fanned out to 500 browser sockets at 10 frames/s took
p99 188.7 ms under daphne against a 45.5 ms floor (a bare ``websockets`` broadcast), and
under this server 42.5 to 65.2 ms against a 43.3 to 80.8 ms floor, in about 110 MB.
``make demo``, hosted mode's systemd units, the tests and the benchmarks all start it
through `command` or `config`, so they run what production runs.

What the settings below keep from the server before it:
- no proxy-header rewriting: `kisweb.clientip` reads X-Forwarded-For itself, as many hops
  deep as ``KISWEB_TRUSTED_PROXIES`` says; a second reader would shift the client address.
- a ping every 20 s and a close after 20 s without the pong: a stalled reader is let go.
- no per-message compression: each socket would keep a zlib window for a few short JSON
  frames a second, costing memory and CPU on every fan-out for little saved.
- Django's own logging: uvicorn's loggers are left to the ``LOGGING`` setting (warnings
  and up); no access log (the reverse proxy keeps one, and a line per request costs time).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

import uvicorn

Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]

# The browser sends small JSON commands (market/consumers.py refuses those over 2,048
# characters with a message); a frame past this closes the socket before it is buffered.
WS_MAX_SIZE = 64 * 1024
PING_INTERVAL_S = 20.0
PING_TIMEOUT_S = 20.0
# On SIGTERM, open sockets get a close (1012, restarting) and requests in flight this long.
GRACEFUL_SHUTDOWN_S = 10


def closes_1011_on_error(app: ASGIApp) -> ASGIApp:
    """`app`, whose WebSockets end with close code 1011 (internal error) when it raises
    after accepting, so the browser and any proxy see an orderly close rather than a torn
    connection; the server still logs the exception. Before the accept the server itself
    answers the handshake with a 500."""

    async def guarded(
        scope: Message,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "websocket":
            return await app(scope, receive, send)
        open_ = False

        async def send_and_track(message: Message) -> None:
            nonlocal open_
            if message["type"] == "websocket.accept":
                open_ = True
            elif message["type"] == "websocket.close":
                open_ = False
            await send(message)

        try:
            await app(scope, receive, send_and_track)
        except Exception:
            if open_:
                with contextlib.suppress(Exception):  # the peer may be gone already
                    await send({"type": "websocket.close", "code": 1011})
            raise

    return guarded


def web_application() -> ASGIApp:
    """The factory the server imports: kisweb's ASGI application, guarded."""
    from kisweb.asgi import application

    return closes_1011_on_error(application)


def config(
    app: ASGIApp | None = None, *, host: str = "127.0.0.1", port: int = 8000
) -> uvicorn.Config:
    """The server's settings for `app` (kisweb's own application when None)."""
    return uvicorn.Config(
        web_application if app is None else app,
        factory=app is None,
        host=host,
        port=port,
        loop="asyncio",
        http="httptools",
        ws="websockets-sansio",
        ws_max_size=WS_MAX_SIZE,
        ws_ping_interval=PING_INTERVAL_S,
        ws_ping_timeout=PING_TIMEOUT_S,
        ws_per_message_deflate=False,
        lifespan="off",  # Django and Channels answer no lifespan events
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )


def module_args(host: str, port: int) -> list[str]:
    """The interpreter's arguments that start a web process on `host`:`port`."""
    return ["-m", "kisweb.serving", "--host", host, "--port", str(port)]


def command(host: str, port: int) -> list[str]:
    """The argv that starts a web process on `host`:`port` with this interpreter."""
    return [sys.executable, *module_args(host, port)]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m kisweb.serving", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    uvicorn.Server(config(host=args.host, port=args.port)).run()


if __name__ == "__main__":
    main()
