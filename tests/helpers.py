"""Helpers that test modules in more than one place share. Test modules import from here (or
use a conftest's fixtures), never from one another.

- `wait_until`: a bounded wait on a condition, in place of a sleep;
- `Clock`, a clock the test moves; `max_in_any_window`, the rate a limiter let through;
- child processes started the way a person starts our commands: `free_port`, `wait_for_line`;
- `PrivateRedis`, `PrivatePostgres`: services of a test's own, to stop and restart;
- `LiveServer`: the web server as production runs it (`kisweb.serving`) serving the real
  ``kisweb.asgi.application`` in a forked process. Forking (not spawning) means the child
  starts with the parent's configured settings: the test database name, the simulator's
  endpoints, anything a fixture changed before the fork;
- `credential_form`: the credential form as a person fills it in; `ticket_form` and
  `post_ticket`: the order ticket likewise.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.db import connections

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- waits


async def wait_until(condition: Callable[[], object], what: str, deadline_s: float = 5.0) -> None:
    """Return as soon as `condition()` is true; fail naming `what` after `deadline_s`."""
    deadline = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {deadline_s} s for {what}")
        await asyncio.sleep(0.005)


# ---------------------------------------------------------------- time and rates


class Clock:
    """A clock that stands still until the test moves it: ``clock.advance(minutes=1)``."""

    def __init__(self) -> None:
        self.now = datetime(2026, 7, 9, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def max_in_any_window(stamps: list[float], window_s: float = 1.0) -> int:
    """The most timestamps inside any half-open window [t, t + window_s)."""
    stamps = sorted(stamps)
    best, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamps[start] <= stamp - window_s:
            start += 1
        best = max(best, end - start + 1)
    return best


# ---------------------------------------------------------------- child processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def wait_for_line(process: subprocess.Popen[str], pattern: str, deadline_s: float) -> re.Match[str]:
    deadline = time.monotonic() + deadline_s
    seen = []
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        seen.append(line)
        if match := re.search(pattern, line):
            return match
    printed = "".join(seen)
    raise AssertionError(f"{process.args} never printed {pattern!r}; it printed:\n{printed}")


# ---------------------------------------------------------------- a live server


def _kisweb_application():
    from kisweb.serving import web_application

    return web_application()


class LiveServer:
    """``with LiveServer() as server: server.url`` — the web server on a free loopback port.

    ``db_blocker`` is pytest-django's ``django_db_blocker``: the fork inherits its block on
    database access, which the server process lifts for itself. ``application`` builds the
    ASGI app in the server process (kisweb's own by default).
    """

    host = "127.0.0.1"
    startup_timeout_s = 30

    def __init__(self, db_blocker=None, application=_kisweb_application):
        self.db_blocker = db_blocker
        self.application = application

    def _serve(self, listening: socket.socket) -> None:
        import uvicorn

        from kisweb.serving import config

        # The parent closed its connections before the fork, so none is inherited open.
        if self.db_blocker is not None:
            self.db_blocker.unblock()
        uvicorn.Server(config(self.application())).run(sockets=[listening])

    def __enter__(self) -> LiveServer:
        connections.close_all()
        # Bound and listening before the fork: the port is known at once, and connections
        # made before the child serves wait in the backlog instead of being refused.
        listening = socket.socket()
        listening.bind((self.host, 0))
        listening.listen(128)
        self.port = listening.getsockname()[1]
        self.process = multiprocessing.get_context("fork").Process(
            target=self._serve, args=(listening,), daemon=True
        )
        self.process.start()
        listening.close()
        self.url = f"http://{self.host}:{self.port}"
        deadline = time.monotonic() + self.startup_timeout_s
        while not self._answers():
            if not self.process.is_alive() or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"the web server on {self.url} did not start")
            time.sleep(0.05)
        return self

    def _answers(self) -> bool:
        request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        with (
            contextlib.suppress(OSError),
            socket.create_connection((self.host, self.port), 1) as sock,
        ):
            sock.sendall(request)
            return sock.recv(64).startswith(b"HTTP/1.1 ")
        return False

    def __exit__(self, *exc_info) -> None:
        self.process.terminate()
        self.process.join(timeout=15)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)


# ---------------------------------------------------------------- forms

# A credential as a person pastes it from the KIS site (not a simulator customer).
APP_KEY = "PS" + "k" * 34
APP_SECRET = "s" * 180


def credential_form(**overrides: str) -> dict[str, str]:
    """The credential form's fields, filled in; `overrides` replace or add fields."""
    return {
        "label": "Main",
        "environment": "paper",
        "app_key": APP_KEY,
        "app_secret": APP_SECRET,
        "account_number": "12345678-01",
        "hts_id": "hong01",
        **overrides,
    }


def ticket_form(**fields: str) -> dict[str, str]:
    """The order ticket's fields for one share of Samsung at 71,000 on KRX, with a fresh
    idempotency key; `fields` replace or add fields."""
    from trading.forms import new_idempotency_key

    return {
        "market": "KRX",
        "venue": "KRX",
        "symbol": "005930",
        "side": "buy",
        "order_type": "00",
        "price": "71000",
        "quantity": "1",
        "idempotency_key": new_idempotency_key(),
        **fields,
    }


def post_ticket(client, language: str = "en", **fields: str):
    """Post the order ticket as a browser in `language` would."""
    from django.urls import reverse

    return client.post(
        reverse("trading:order_ticket"), ticket_form(**fields), HTTP_ACCEPT_LANGUAGE=language
    )


# ---------------------------------------------------------------- private services

# Outage tests stop and restart PostgreSQL and Redis. They never touch the machine's own
# (other checkouts test against them): each starts a private one on a free port.


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def postgres_missing_reason() -> str | None:
    """Why a private PostgreSQL cannot be made here, or None when it can."""
    if _postgres_bin() is None:
        return "PostgreSQL's initdb is not installed (/usr/lib/postgresql/*/bin)"
    return None


class PrivateRedis:
    """``redis-server`` on a free loopback port with nothing persisted: ``restart()`` comes
    back empty, as a Redis without persistence does after a crash."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while port_is_closed(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> PrivateRedis:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class PrivatePostgres:
    """A throwaway PostgreSQL cluster (``initdb`` into a temporary directory, trust auth) on
    a free loopback port; ``stop()`` and ``start()`` take it away and bring it back. As root
    the server runs as the ``postgres`` user, who owns the directory."""

    def __init__(self, database: str = "kisweb") -> None:
        bin_dir = _postgres_bin()
        if bin_dir is None:
            raise RuntimeError(postgres_missing_reason())
        self.bin = bin_dir
        self.port = free_port()
        self.database = database
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/{database}"
        self.root = Path(tempfile.mkdtemp(prefix="kisweb-pg-"))
        self.data = self.root / "data"
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [*self.as_owner, *args], capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            *(str(self.bin / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(self.data)),
            *("-l", str(self.root / "server.log"), "-o", options),
        )

    def stop(self) -> None:
        """A fast shutdown: open connections are cut, as when the server goes away."""
        self._run(str(self.bin / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(self.data))

    def __enter__(self) -> PrivatePostgres:
        self._run(
            *(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres"),
            *("-A", "trust", "-E", "UTF8", "--locale", "C", "--no-sync"),
        )
        self.start()
        self._run(
            *(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port)),
            *("-U", "postgres", self.database),
        )
        return self

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(RuntimeError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
