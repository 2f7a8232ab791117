"""The fault tests' rig for the market side: real processes, real sockets, counted at the
simulator.

- ``DemoSite``: kisweb as ``make demo`` runs it (the web server with the hub in its process, on
  SQLite in a directory of its own), set up by ``manage.py`` subprocesses, so the fast
  pass needs no database shared with pytest's;
- ``HostedLayout``: web, ``runrelay`` and ``taskworker`` processes on pytest-django's
  PostgreSQL test database and the hosted pass's Redis, started, killed and restarted;
- ``BrowserSocket``: a tab's ``/ws/market/`` socket as ``static/js/stream.js`` opens it
  (session cookie, same-origin ``Origin``), subscribing once; it records every message and
  never reconnects, so a closed socket shows;
- ``sim_registrations``, ``SessionWatch``, ``calm_floors``: what the simulator holds and
  saw, and the least time the relay's reconnect backoff lets pass before each reconnect.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import websockets

from kisweb.serving import module_args
from tests.helpers import ROOT, free_port

START_S = 90  # generous: Django processes start on two cores shared with other checkouts

SETUP = """
import json, os
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from accounts.actions import CredentialInput, create_credential, verify_credential
from market.symbols import load_bundled
call_command("migrate", verbosity=0)
load_bundled()
user = User.objects.create_user("faults", password="faults-pass-1")
credential = create_credential(user, CredentialInput(
    label="faults", environment="paper", app_key=os.environ["T_KEY"],
    app_secret=os.environ["T_SECRET"], account_number=os.environ["T_CANO"],
    product_code=os.environ["T_PRODUCT"], hts_id=os.environ["T_HTS"]))
assert verify_credential(user, credential).ok
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(json.dumps({"session": session.session_key}), flush=True)
"""


def _clean_environ() -> dict[str, str]:
    """This process's environment without the settings a test run set for itself."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "KISWEB_", "DATABASE_URL", "REDIS_URL", "PYTEST_"))
    }


def simulator_env(sim) -> dict[str, str]:
    return {
        "KISWEB_KIS_PAPER_REST_URL": sim.paper_url,
        "KISWEB_KIS_PAPER_WS_URL": sim.paper_ws_url,
        "KISWEB_KIS_REAL_REST_URL": sim.real_url,
        "KISWEB_KIS_REAL_WS_URL": sim.real_ws_url,
        "PYTHONUNBUFFERED": "1",
    }


class Children:
    """Child processes writing to files of the test's (a pipe nobody reads stalls them)."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = self.logs / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, *args], cwd=ROOT, env=self.env, stdout=out, stderr=out
            )
        self.started.append((process, log))
        return process

    def web(self, name: str) -> int:
        """A web process as hosted mode runs it, on a free port; returns the port."""
        port = free_port()
        self.start(name, *module_args("127.0.0.1", port))
        return port

    def stop_all(self) -> None:
        for process, _log in self.started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process, _log in self.started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def output(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')}" for _p, log in self.started
        )


def wait_for_http(port: int, path: str = "/healthz", deadline_s: float = START_S) -> None:
    deadline = time.monotonic() + deadline_s
    said = "no answer"
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            answer = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2)
            if answer.status_code == 200:
                return
            said = f"{answer.status_code} {answer.text[:300]}"
        time.sleep(0.2)
    raise AssertionError(f"{path} on {port} never answered 200: {said}")


class DemoSite:
    """``with DemoSite(sim, account) as site``: one web process in demo mode, the hub in it,
    signed in as a user whose credential is ``account``'s; ``site.cookie`` is the session."""

    def __init__(self, sim, account) -> None:
        self.sim, self.account = sim, account
        self.root = Path(tempfile.mkdtemp(prefix="kisweb-faults-"))
        self.env = {
            **_clean_environ(),
            **simulator_env(sim),
            "KISWEB_MODE": "demo",
            "KISWEB_VAR_DIR": str(self.root),
            "KISWEB_LOG_LEVEL": "WARNING",
        }
        self.children = Children(self.env, self.root)
        self.cookie = ""
        self.port = 0

    def __enter__(self) -> DemoSite:
        account = self.account
        done = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", SETUP],
            cwd=ROOT,
            env={
                **self.env,
                "T_KEY": account.appkey,
                "T_SECRET": account.appsecret,
                "T_CANO": account.cano,
                "T_PRODUCT": account.acnt_prdt_cd,
                "T_HTS": account.hts_id,
            },
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
        self.cookie = json.loads(done.stdout.strip().splitlines()[-1])["session"]
        self.port = self.children.web("web")
        try:
            wait_for_http(self.port)
        except AssertionError:
            self.__exit__()
            raise
        return self

    def __exit__(self, exc_type: object = None, *exc_info: object) -> None:
        self.children.stop_all()
        if exc_type is None:  # a failed run keeps the logs for whoever reads it
            shutil.rmtree(self.root, ignore_errors=True)

    def page(self, path: str = "/") -> str:
        answer = httpx.get(
            f"http://127.0.0.1:{self.port}{path}",
            headers={"Cookie": f"sessionid={self.cookie}", "Accept-Language": "en"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.status_code
        return answer.text


def strip_figures(html: str) -> dict[str, str]:
    """The health strip's reconnects today and last gap, as the page shows them."""
    figures = {}
    for name in ("reconnects", "gap"):
        match = re.search(rf"data-health-{name}>([^<]*)<", html)
        assert match, f"the health strip shows no {name}"
        figures[name] = match.group(1)
    return figures


@dataclass
class BrowserSocket:
    """One tab's market socket watching ``symbols``' trades."""

    port: int
    cookie: str
    symbols: list[str]
    cookie_name: str = "sessionid"
    arrivals: dict[str, list[float]] = field(default_factory=dict)  # symbol -> arrival times
    kinds: Counter[str] = field(default_factory=Counter)  # every message type received
    late: Counter[str] = field(default_factory=Counter)  # types other than quotes and status,
    # once every subscription was answered
    states: list[str] = field(default_factory=list)  # the status messages' states, in order
    last_status: dict = field(default_factory=dict)
    connects: int = 0
    closed: str = ""
    subscribes_sent: int = 0

    async def run(self) -> None:
        url = f"ws://127.0.0.1:{self.port}/ws/market/"
        headers = {"Cookie": f"{self.cookie_name}={self.cookie}"}
        origin = websockets.Origin(f"http://127.0.0.1:{self.port}")
        try:
            async with websockets.connect(
                url, additional_headers=headers, origin=origin, max_queue=None
            ) as ws:
                self.connects += 1
                for symbol in self.symbols:  # all at once, as stream.js does on open
                    await ws.send(json.dumps({"type": "subscribe", "symbol": symbol}))
                    self.subscribes_sent += 1
                async for text in ws:
                    self._take(json.loads(text))
            self.closed = "closed by the server"
        except (OSError, websockets.WebSocketException) as error:
            self.closed = type(error).__name__

    def _take(self, message: dict) -> None:
        kind = str(message.get("type"))
        settled = self.subscribed()
        self.kinds[kind] += 1
        if kind == "trade" and message.get("snapshot"):
            return  # a relay's catch-up copy for a socket it just learned: a state, no frame
        if kind == "trade":
            self.arrivals.setdefault(str(message.get("symbol")), []).append(time.monotonic())
            return
        if kind == "status":
            self.last_status = message
            if not self.states or self.states[-1] != message.get("state"):
                self.states.append(str(message.get("state")))
            return
        if settled:
            self.late[kind] += 1

    def subscribed(self) -> bool:
        return self.kinds["subscribed"] >= len(self.symbols)

    def has_frames_after(self, moment: float) -> bool:
        return all(self.arrivals.get(symbol, [0.0])[-1] > moment for symbol in self.symbols)

    def gaps_around(self, moment: float) -> list[float]:
        """Per symbol: the last arrival before ``moment`` to the first after it."""
        gaps = []
        for symbol in self.symbols:
            stamps = self.arrivals.get(symbol, [])
            before = [at for at in stamps if at < moment]
            after = [at for at in stamps if at > moment]
            if before and after:
                gaps.append(after[0] - before[-1])
        return gaps

    def frames(self) -> int:
        return sum(len(stamps) for stamps in self.arrivals.values())

    def reconnecting_seen(self) -> int:
        return self.states.count("reconnecting")


def sim_registrations(simulator, app_key: str) -> list[tuple[str, str]]:
    """What the simulator itself holds for this app key (not what the relay believes)."""

    def read():
        return sorted(
            sub for s in simulator.sim.hub.sessions if s.appkey == app_key for sub in s.subs
        )

    return simulator.call(read)


class SessionWatch:
    """Samples the simulator's open sessions for an app key in a thread: the most ever open
    at once (the one-session-per-app-key rule, whatever the moment)."""

    def __init__(self, sim, app_key: str, every_s: float = 0.01) -> None:
        self.sim, self.app_key, self.every_s = sim, app_key, every_s
        self.most = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.every_s):
            self.most = max(self.most, self.sim.stats.ws_sessions(self.app_key))

    def __enter__(self) -> SessionWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def calm_floors(
    opens: list[float], drops: list[float], minimum_s: float, maximum_s: float
) -> list[float]:
    """The least wait the session's backoff allows between each drop and the reconnect
    that follows it (kisweb/kis/realtime/session.py, ``_run``): a delay drawn from
    [d/2, d], d doubling from ``minimum_s`` up to ``maximum_s``, back to ``minimum_s`` only
    after a connection that stayed up ``maximum_s``. ``opens[k]`` is the connection that
    ``drops[k]`` ended; the simulator stamps an open before the client does, so an uptime
    read here is never shorter than the client's own."""
    floors = []
    delay = minimum_s
    for opened, dropped in zip(opens, drops, strict=False):
        if dropped - opened >= maximum_s:
            delay = minimum_s
        floors.append(delay / 2)
        delay = min(delay * 2, maximum_s)
    return floors


def p50_max(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} / {max(values):.2f}"
