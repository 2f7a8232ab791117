"""Requests anyone can send that used to end in a 500 with a traceback in the log: a
WebSocket handshake to a path no consumer serves, and a form body Django cannot decode.
Each must get a clean refusal (a 4xx) and leave nothing in the log above a warning.

They go to the real ``kisweb.asgi.application``: in this process, where the log can be
read, and under the real web server, where the bare 500 page of the server before
(daphne) is what an outside tester saw.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import secrets
import string
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from asgiref.typing import ASGIApplication
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.conf import settings

from kisweb.serving import command
from tests.helpers import ROOT, free_port, port_is_closed

HOST = "localhost"
ORIGIN = f"http://{HOST}"
UNKNOWN_WEBSOCKET_PATHS = ["/ws/", "/ws/quotes/005930/", "/", "/accounts/login/"]


def _csrf_cookie() -> str:
    """A CSRF cookie as a browser holds one: anyone can make one up, it is only a secret
    that the form's token must match."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(32))


def _form_posts() -> dict[str, tuple[str, bytes]]:
    """Form bodies the request cannot be parsed from, by content type and body."""
    too_many_fields = "&".join(f"f{n}=1" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    return {
        "utf-16": (
            "application/x-www-form-urlencoded; charset=utf-16",
            "username=a&password=b".encode("utf-16"),
        ),
        "latin-1": ("application/x-www-form-urlencoded; charset=latin-1", b"username=caf\xe9"),
        "too many fields": ("application/x-www-form-urlencoded", too_many_fields.encode()),
    }


FORM_POSTS = _form_posts()
# The body is read by the CSRF check, which runs once a view is found: a path with no view
# is a 404 before anything reads it.
FORM_TARGETS = {"/accounts/login/": 400, "/i18n/setlang/": 400, "/no-such-page/": 404}


@pytest.fixture
def application() -> ASGIApplication:
    # Imported here, not at collection: importing kisweb.asgi builds the middleware chain
    # from the settings of that moment, and other tests fork the web server with settings of theirs.
    from kisweb.asgi import application

    return application


@pytest.fixture
def server_log(caplog) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def _loud_records(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{record.name} {record.levelname}: {record.getMessage()}"
        for record in caplog.records
        if record.levelno > logging.WARNING
    ]


# ---------------------------------------------------------------- WebSocket paths


# Channels' consumers close stale database connections on every message, so these tests
# have the database too, as the server has.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", UNKNOWN_WEBSOCKET_PATHS)
async def test_a_websocket_to_an_unknown_path_is_refused_quietly(application, path, server_log):
    communicator = WebsocketCommunicator(
        application, path, headers=[(b"host", HOST.encode()), (b"origin", ORIGIN.encode())]
    )
    connected, _code = await communicator.connect(timeout=5)
    assert connected is False
    await communicator.disconnect(timeout=5)
    assert _loud_records(server_log) == []


@pytest.mark.django_db(transaction=True)
async def test_a_signed_in_websocket_to_an_unknown_path_is_refused_quietly(
    application, async_client, django_user_model, server_log
):
    user = await django_user_model.objects.acreate_user("ws-member", password="ws-pass-1")
    await async_client.aforce_login(user)
    session_cookie = async_client.cookies[settings.SESSION_COOKIE_NAME].value
    communicator = WebsocketCommunicator(
        application,
        "/ws/quotes/005930/",
        headers=[
            (b"host", HOST.encode()),
            (b"origin", ORIGIN.encode()),
            (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_cookie}".encode()),
        ],
    )
    connected, _code = await communicator.connect(timeout=5)
    assert connected is False
    await communicator.disconnect(timeout=5)
    assert _loud_records(server_log) == []


# ---------------------------------------------------------------- undecodable form bodies


@pytest.mark.parametrize("target", sorted(FORM_TARGETS))
@pytest.mark.parametrize("body_kind", sorted(FORM_POSTS))
async def test_a_form_body_that_cannot_be_decoded_is_a_quiet_400(
    application, target, body_kind, server_log
):
    content_type, body = FORM_POSTS[body_kind]
    communicator = HttpCommunicator(
        application,
        "POST",
        target,
        body=body,
        headers=[
            (b"host", HOST.encode()),
            (b"content-type", content_type.encode()),
            (b"cookie", f"{settings.CSRF_COOKIE_NAME}={_csrf_cookie()}".encode()),
        ],
    )
    response = await communicator.get_response(timeout=10)
    status = FORM_TARGETS[target]
    assert response["status"] == status
    assert f'<span class="error-code">{status}</span>'.encode() in response["body"]
    # Django logs the too-many-fields refusal on its security logger, by design; the
    # undecodable charsets must leave nothing above a warning.
    if body_kind != "too many fields":
        assert _loud_records(server_log) == []


# ---------------------------------------------------------------- under the web server


@dataclass
class WebServer:
    url: str
    log: Path
    log_start: int = 0

    def log_problems(self) -> list[str]:
        """Lines of the server's log above a warning, and tracebacks, since the test began."""
        with self.log.open() as log:
            log.seek(self.log_start)
            lines = log.read().splitlines()
        return [line for line in lines if re.search(r"\b(ERROR|CRITICAL)\b|Traceback", line)]


@pytest.fixture(scope="module")
def web_server(tmp_path_factory) -> Iterator[WebServer]:
    """``python -m kisweb.serving`` as ``make demo`` runs it, in a process of its own
    (started, not forked: this test process has thread pools a fork would not carry)."""
    workdir = tmp_path_factory.mktemp("web")
    port = free_port()
    log = workdir / "server.log"
    env = {**os.environ, "KISWEB_MODE": "demo", "KISWEB_VAR_DIR": str(workdir / "var")}
    with log.open("w") as output:
        server = subprocess.Popen(
            command("127.0.0.1", port),
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while port_is_closed(port):
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the web server did not listen within 30 s"
            time.sleep(0.05)
        yield WebServer(url=f"http://127.0.0.1:{port}", log=log)
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def web(web_server) -> WebServer:
    web_server.log_start = web_server.log.stat().st_size
    return web_server


@pytest.mark.parametrize("body_kind", sorted(FORM_POSTS))
def test_the_web_server_answers_an_undecodable_form_with_400(web, body_kind):
    content_type, body = FORM_POSTS[body_kind]
    response = httpx.post(
        f"{web.url}/accounts/login/",
        content=body,
        headers={"content-type": content_type},
        cookies={settings.CSRF_COOKIE_NAME: _csrf_cookie()},
        timeout=10,
    )
    assert response.status_code == 400
    assert '<span class="error-code">400</span>' in response.text
    if body_kind != "too many fields":
        assert web.log_problems() == []


@pytest.mark.parametrize("path", UNKNOWN_WEBSOCKET_PATHS)
def test_the_web_server_refuses_a_websocket_to_an_unknown_path_with_403(web, path):
    # A handshake as a browser on the site's own page sends it (RFC 6455 §4.1).
    handshake = {
        "upgrade": "websocket",
        "connection": "Upgrade",
        "sec-websocket-key": base64.b64encode(secrets.token_bytes(16)).decode(),
        "sec-websocket-version": "13",
        "origin": web.url,
    }
    response = httpx.get(f"{web.url}{path}", headers=handshake, timeout=10)
    assert response.status_code == 403
    assert web.log_problems() == []
