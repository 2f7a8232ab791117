"""The web server as every kisweb process runs it (`kisweb.serving`), over real sockets:
what it must keep from the server before it (daphne) and what its settings promise.

Each test serves a small ASGI application of its own through `LiveServer`, which runs
`kisweb.serving.config` in a forked process, as production runs it with kisweb's app.
"""

from __future__ import annotations

import asyncio
import json
import shlex

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from kisweb.serving import WS_MAX_SIZE, closes_1011_on_error, module_args
from tests.helpers import ROOT, LiveServer


async def _failing_after_accept(scope, receive, send):
    """Answers HTTP with the client address it was given; a WebSocket is accepted, echoes
    one message, and then the application fails."""
    if scope["type"] == "http":
        body = json.dumps({"client": scope["client"][0]}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})
        return
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    message = await receive()
    if message["type"] != "websocket.receive":
        return
    await send({"type": "websocket.send", "text": message.get("text") or "?"})
    if message.get("text") == "fail":
        raise RuntimeError("the application failed")
    while (await receive())["type"] != "websocket.disconnect":
        pass


def _application():
    return closes_1011_on_error(_failing_after_accept)


@pytest.fixture(scope="module")
def server():
    with LiveServer(application=_application) as live:
        yield live


def _ws_url(server) -> str:
    return server.url.replace("http://", "ws://") + "/ws/"


async def _closed_code(socket) -> int:
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(socket.recv(), 10)
    assert closed.value.rcvd is not None, "the server tore the connection without a close"
    return closed.value.rcvd.code


async def test_an_application_error_after_the_accept_closes_with_1011(server):
    async with connect(_ws_url(server)) as socket:
        await socket.send("fail")
        assert await socket.recv() == "fail"
        assert await _closed_code(socket) == 1011
    async with connect(_ws_url(server)) as socket:  # and the server serves the next one
        await socket.send("hello")
        assert await socket.recv() == "hello"


async def test_a_message_over_the_size_limit_closes_with_1009_before_it_is_read(server):
    async with connect(_ws_url(server), max_size=None) as socket:
        await socket.send("x" * (WS_MAX_SIZE + 1))
        assert await _closed_code(socket) == 1009
    async with connect(_ws_url(server)) as socket:
        await socket.send("x" * 2048)
        assert await socket.recv() == "x" * 2048


async def test_no_compression_is_negotiated_though_the_browser_offers_it(server):
    async with connect(_ws_url(server), compression="deflate") as socket:
        assert socket.response is not None
        assert "Sec-WebSocket-Extensions" not in socket.response.headers
        await socket.send("hello")
        assert await socket.recv() == "hello"


def test_the_server_does_not_rewrite_the_client_address_from_forwarded_headers(server):
    # kisweb.clientip reads X-Forwarded-For itself, as deep as KISWEB_TRUSTED_PROXIES says.
    answer = httpx.get(server.url, headers={"X-Forwarded-For": "203.0.113.9"}, timeout=10)
    assert answer.json() == {"client": "127.0.0.1"}
    assert "server" not in answer.headers


async def test_stopping_the_server_closes_open_sockets_with_1012_restarting():
    with LiveServer(application=_application) as live:
        socket = await connect(_ws_url(live))
        await socket.send("hello")
        assert await socket.recv() == "hello"
        live.process.terminate()
        assert await _closed_code(socket) == 1012


DEPLOYMENT_FILES = [
    ("docs/hosting/Procfile", "web: "),
    ("docs/hosting/systemd/kisweb-web@.service", "ExecStart="),
]


@pytest.mark.parametrize(("path", "prefix"), DEPLOYMENT_FILES)
def test_the_deployment_files_start_web_processes_as_the_tests_do(path, prefix):
    """The units and the Procfile are not run here: they must name the command that is."""
    (line,) = [line for line in (ROOT / path).read_text().splitlines() if line.startswith(prefix)]
    argv = shlex.split(line.removeprefix(prefix))
    assert argv[0].endswith(".venv/bin/python")
    *same, _port = module_args("127.0.0.1", 0)
    assert argv[1:-1] == same
