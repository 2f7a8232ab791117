"""Outages under load, with real processes on a PostgreSQL and a Redis of the test's own (the
machine's are shared with other checkouts and never stopped): two web processes, the
relay and the simulator; clients post orders over HTTP through the ticket view while Redis
restarts, a web process is SIGKILLed and replaced, or PostgreSQL is away for 10 s, and
market sockets reconnect as ``static/js/stream.js`` does.

Counted at the simulator: every order a client was answered for is in the journal once,
nothing is sent twice, and after a reconcile no order is left unsettled. Times to full
service are printed (``pytest -s``), never asserted.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import websockets

from kisweb.kissim import make_account
from kisweb.serving import module_args
from tests.helpers import (
    ROOT,
    PrivatePostgres,
    PrivateRedis,
    free_port,
    port_is_closed,
    postgres_missing_reason,
)
from trading.forms import new_idempotency_key

pytestmark = [
    pytest.mark.hosted,
    pytest.mark.timeout(600),
    pytest.mark.skipif(
        postgres_missing_reason() is not None, reason=str(postgres_missing_reason())
    ),
]

SYMBOL = "005930"
CLIENTS = 4
SETTLED = {"accepted", "partially_filled", "filled", "cancelled", "rejected"}

SETUP = """
import json, os
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from accounts.actions import CredentialInput, create_credential, verify_credential
from market.models import Symbol
Symbol.objects.create(code="005930", market="KOSPI", name="삼성전자")
user = User.objects.create_user("outage", password="outage-pass-1")
credential = create_credential(user, CredentialInput(
    label="outage", environment="real", app_key=os.environ["T_KEY"],
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

# The reconcile action, run as the orders page runs it but past the stale-sender and
# not-received windows; then the whole journal.
RECONCILE = """
import datetime as dt, json
from django.utils import timezone
from accounts.models import Credential
from trading.actions import reconcile
from trading.models import Order
credential = Credential.objects.get()
before = dict(Order.objects.values_list("client_order_id", "status"))
result = reconcile(credential, now=timezone.now() + dt.timedelta(minutes=3))
rows = list(Order.objects.values("idempotency_key", "client_order_id", "status", "reject_code"))
print(json.dumps({"before": before, "complete": result.complete, "rows": rows}), flush=True)
"""


class Child:
    """A process started as a deployment starts it, its output in a file of the test's."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.log_path = logs / f"{name}.log"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def _wait(condition, what: str, deadline_s: float = 60.0, every_s: float = 0.05) -> float:
    """Wait for ``condition()``; returns when it became true (``time.monotonic()``)."""
    deadline = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {deadline_s} s for {what}")
        time.sleep(every_s)
    return time.monotonic()


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@dataclass
class Deployment:
    env: dict[str, str]
    postgres: PrivatePostgres
    redis: PrivateRedis
    logs: Path
    session: str
    app_key: str
    ports: list[int]
    web: dict[int, Child] = field(default_factory=dict)
    relay: Child | None = None

    def manage(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
        return done.stdout

    def start_web(self, port: int) -> Child:
        args = module_args("127.0.0.1", port)
        child = self.web[port] = Child(f"web-{port}", args, self.env, self.logs)
        _wait(lambda: _answers(port) or child.process.poll() is not None, f"web on {port}")
        assert child.process.poll() is None, child.output()[-3000:]
        return child

    def journal(self) -> dict:
        return json.loads(self.manage("shell", "-c", RECONCILE).strip().splitlines()[-1])


@pytest.fixture(scope="module")
def deployment(simulator, tmp_path_factory):
    sim = simulator.sim
    account = sim.add_account(make_account("real", cash_krw=10**13))
    sim.market.set_price(SYMBOL, 71000)
    logs = tmp_path_factory.mktemp("outage-logs")
    with PrivatePostgres() as postgres, PrivateRedis() as redis:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "KISWEB_", "DATABASE_URL", "REDIS_URL"))
        }
        env.update(
            DJANGO_SETTINGS_MODULE="tests.ops.outage_settings",
            KISWEB_MODE="hosted",
            DATABASE_URL=postgres.url,
            REDIS_URL=redis.url,
            DJANGO_SECRET_KEY="outage-test-only-" + secrets.token_hex(24),
            KISWEB_ENCRYPTION_KEYS="outage:" + base64.b64encode(secrets.token_bytes(32)).decode(),
            KISWEB_SSL_REDIRECT="false",
            KISWEB_REQUIRE_2FA_FOR_REAL="false",
            KISWEB_KIS_REAL_REST_URL=sim.real_url,
            KISWEB_KIS_REAL_WS_URL=sim.real_ws_url,
            KISWEB_KIS_PAPER_REST_URL=sim.paper_url,
            KISWEB_KIS_PAPER_WS_URL=sim.paper_ws_url,
            STATIC_ROOT=str(logs / "static"),
            PYTHONUNBUFFERED="1",
        )
        deployment = Deployment(
            env=env,
            postgres=postgres,
            redis=redis,
            logs=logs,
            session="",
            app_key=account.appkey,
            ports=[free_port(), free_port()],
        )
        deployment.manage("migrate", "--noinput", "-v0")  # the release step, as deployed
        deployment.manage("collectstatic", "--noinput", "-v0")
        setup_env = {
            **env,
            "T_KEY": account.appkey,
            "T_SECRET": account.appsecret,
            "T_CANO": account.cano,
            "T_PRODUCT": account.acnt_prdt_cd,
            "T_HTS": account.hts_id,
        }
        out = deployment.manage("shell", "-c", SETUP, env=setup_env)
        deployment.session = json.loads(out.strip().splitlines()[-1])["session"]
        deployment.relay = Child("relay", ["manage.py", "runrelay"], env, logs)
        try:
            for port in deployment.ports:
                deployment.start_web(port)
            yield deployment
        finally:
            for child in [*deployment.web.values(), deployment.relay]:
                child.stop()


@pytest.fixture
def ticker(simulator):
    """The market moves ten times a second, so subscribed sockets get trade frames."""
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(0.1):
            simulator.call(simulator.sim.market.step)

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=5)


class OrderLoad:
    """``CLIENTS`` people posting buy orders through the ticket view, each on its own web process
    (as a proxy spreads them). A post with no answer (connection refused, reset) or an
    error page is sent again with the same form, idempotency key included, as a person
    pressing the button again does; on a dead connection, to the other process."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.numbers = itertools.count()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.answered: dict[str, float] = {}  # key -> when the 302 came
        self.started: dict[str, float] = {}  # key -> when it was first posted
        self.unanswered: list[str] = []
        self.outcomes: Counter[str] = Counter()
        self.threads = [
            threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(CLIENTS)
        ]

    def __enter__(self) -> OrderLoad:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=180)

    def form(self, n: int, csrf: str) -> dict[str, str]:
        # A distinct price and quantity per order: a reconcile matching an order without
        # its KIS number (by symbol, side, quantity, type and price) has one candidate.
        return {
            "market": "KRX",
            "venue": "KRX",
            "symbol": SYMBOL,
            "side": "buy",
            "order_type": "00",
            "price": str(69900 - 100 * (n % 150)),
            "quantity": str(1 + n // 150),
            "idempotency_key": new_idempotency_key(),
            "confirmed": "on",
            "csrfmiddlewaretoken": csrf,
        }

    def _client(self, index: int) -> None:
        csrf = secrets.token_hex(16)  # the cookie and the form carry the same secret
        with httpx.Client(timeout=30) as http:
            while not self.stop.is_set():
                self.post(http, index, self.form(next(self.numbers), csrf), csrf)

    def post(self, http: httpx.Client, backend: int, form: dict[str, str], csrf: str) -> int:
        key = form["idempotency_key"]
        with self.lock:
            self.started[key] = time.monotonic()
        deadline = time.monotonic() + 120
        status = 0
        while time.monotonic() < deadline:
            port = self.deployment.ports[backend % len(self.deployment.ports)]
            origin = f"http://127.0.0.1:{port}"
            headers = {
                "Cookie": f"sessionid={self.deployment.session}; csrftoken={csrf}",
                "Origin": origin,
                "Accept-Language": "en",
            }
            try:
                response = http.post(f"{origin}/trading/trade/", data=form, headers=headers)
            except httpx.TransportError as error:
                outcome = type(error).__name__
                backend += 1
            else:
                status = response.status_code
                outcome = str(status)
                if status == 302:
                    with self.lock:
                        self.outcomes[outcome] += 1
                        self.answered[key] = time.monotonic()
                    return status
            with self.lock:
                self.outcomes[outcome] += 1
            time.sleep(0.2)
        with self.lock:
            self.unanswered.append(key)
        return status

    def answered_after(self, moment: float) -> bool:
        """An order first posted after ``moment`` has been answered."""
        with self.lock:
            return any(self.started[key] > moment for key in self.answered)


class Watcher:
    """A browser tab's market socket, with ``static/js/stream.js``'s reconnect: on close,
    wait half to all of min(30 s, 0.5 s × 2^attempt), connect again, re-send the
    subscription. Counts connects and the time of every trade frame."""

    def __init__(self, deployment: Deployment, port: int) -> None:
        self.deployment = deployment
        self.port = port
        self.connects = 0
        self.frames: list[float] = []
        self.closes: list[str] = []

    async def run(self) -> None:
        attempt = 0
        url = f"ws://127.0.0.1:{self.port}/ws/market/"
        headers = {
            "Cookie": f"sessionid={self.deployment.session}",
            "Origin": f"http://127.0.0.1:{self.port}",
        }
        while True:
            try:
                async with websockets.connect(
                    url, additional_headers=headers, open_timeout=10
                ) as socket:
                    attempt = 0
                    self.connects += 1
                    subscribe = {"type": "subscribe", "symbol": SYMBOL, "streams": ["trade"]}
                    await socket.send(json.dumps(subscribe))
                    async for text in socket:
                        if json.loads(text).get("type") == "trade":
                            self.frames.append(time.monotonic())
            except (OSError, TimeoutError, websockets.WebSocketException) as error:
                self.closes.append(type(error).__name__)
            else:
                self.closes.append("closed")
            attempt += 1
            cap = min(30.0, 0.5 * 2 ** min(attempt, 6))
            await asyncio.sleep(cap / 2 + random.random() * cap / 2)

    def frame_after(self, moment: float) -> bool:
        return any(stamp > moment for stamp in self.frames)


@contextlib.contextmanager
def watching(deployment: Deployment):
    """One market socket per web process, on a loop of their own."""
    watchers = [Watcher(deployment, port) for port in deployment.ports]
    loop = asyncio.new_event_loop()
    tasks = [loop.create_task(watcher.run()) for watcher in watchers]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield watchers
    finally:

        async def cancel() -> None:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def _check_journal(deployment: Deployment, load: OrderLoad, sim) -> dict:
    journal = deployment.journal()
    rows = journal["rows"]
    keys = Counter(row["idempotency_key"] for row in rows)
    assert load.unanswered == [], load.outcomes
    assert "500" not in load.outcomes  # an outage is a 503 that says so, never a bare 500
    assert journal["complete"] is True
    # Nothing lost: every order a client was answered for is in the journal, once.
    assert set(load.answered) <= set(keys)
    assert max(keys.values()) == 1
    assert len({row["client_order_id"] for row in rows}) == len(rows)
    # Nothing unsettled after the reconcile. A rejected order never ran: KIS never got it
    # (NOT_RECEIVED), or refused it at the gate (EGW00201, over the rate: a Redis restarted
    # empty forgets the shared limiter's last second, so the processes may overshoot once).
    assert {row["status"] for row in rows} <= SETTLED, Counter(r["status"] for r in rows)
    rejected = [row for row in rows if row["status"] == "rejected"]
    assert {row["reject_code"] for row in rejected} <= {"NOT_RECEIVED", "EGW00201"}, rejected
    # Nothing doubled: KIS holds exactly the journal's sent orders.
    sent = len(rows) - len(rejected)
    assert sim.stats.orders_received(deployment.app_key) == sent
    return {
        "rows": len(rows),
        "sent": sent,
        "before reconcile": Counter(journal["before"].values()),
        "keys": set(keys),
    }


def test_redis_restart_and_a_killed_web_process_lose_or_double_no_order(
    deployment, simulator, ticker
):
    sim = simulator.sim
    figures: dict[str, float] = {}
    with watching(deployment) as watchers, OrderLoad(deployment) as load:
        _wait(lambda: len(load.answered) >= 5, "the first orders", 120)
        _wait(lambda: all(w.frames for w in watchers), "frames on both processes' sockets", 60)

        deployment.redis.restart()
        restarted = time.monotonic()
        orders_back = _wait(lambda: load.answered_after(restarted), "orders after Redis", 120)
        frames_back = _wait(
            lambda: all(w.frame_after(restarted) for w in watchers), "frames after Redis", 120
        )
        figures["redis: orders again after (s)"] = orders_back - restarted
        figures["redis: frames on every socket after (s)"] = frames_back - restarted

        victim = deployment.ports[1]
        connects_before = watchers[1].connects
        deployment.web[victim].kill()
        killed = time.monotonic()
        assert port_is_closed(victim)
        deployment.start_web(victim)  # as systemd's Restart= brings the unit back
        serving = time.monotonic()
        frames_back = _wait(
            lambda: watchers[1].frame_after(serving), "frames on the replaced process", 120
        )
        orders_back = _wait(lambda: load.answered_after(serving), "orders after the kill", 120)
        figures["web: replacement answering after (s)"] = serving - killed
        figures["web: its socket reconnected with frames after (s)"] = frames_back - killed
        figures["web: orders on it again after (s)"] = orders_back - killed
        assert watchers[1].connects > connects_before
    counts = _check_journal(deployment, load, sim)
    del counts["keys"]
    print(f"\nredis restart + the web server kill: {counts}, posts {dict(load.outcomes)}")
    print(f"  sockets: {[(w.connects, Counter(w.closes)) for w in watchers]}")
    for name, seconds in figures.items():
        print(f"  {name}: {seconds:.2f}")


def test_postgresql_away_for_10_s_answers_503_sends_nothing_and_recovers(
    deployment, simulator, ticker
):
    sim = simulator.sim
    port = deployment.ports[0]
    cookies = {"Cookie": f"sessionid={deployment.session}"}
    with OrderLoad(deployment) as load:
        _wait(lambda: len(load.answered) >= 5, "the first orders", 120)

        deployment.postgres.stop()
        stopped = time.monotonic()
        pages = {
            language: httpx.get(
                f"http://127.0.0.1:{port}/trading/orders/",
                headers={**cookies, "Accept-Language": language},
                timeout=30,
            )
            for language in ("ko", "en")
        }
        time.sleep(max(0.0, stopped + 2 - time.monotonic()))  # in-flight sends land
        sent_while_down = sim.stats.orders_received(deployment.app_key)
        with httpx.Client(timeout=30) as http:
            csrf = secrets.token_hex(16)
            probe = load.form(10**6, csrf)
            origin = f"http://127.0.0.1:{port}"
            posted = http.post(
                f"{origin}/trading/trade/",
                data=probe,
                headers={
                    **cookies,
                    "Origin": origin,
                    "Cookie": f"{cookies['Cookie']}; csrftoken={csrf}",
                },
            )
        time.sleep(max(0.0, stopped + 10 - time.monotonic()))
        assert sim.stats.orders_received(deployment.app_key) == sent_while_down
        deployment.postgres.start()
        started = time.monotonic()
        orders_back = _wait(lambda: load.answered_after(started), "orders after PostgreSQL", 120)
        page_back = _wait(
            lambda: (
                httpx.get(
                    f"http://127.0.0.1:{port}/trading/orders/", headers=cookies, timeout=30
                ).status_code
                == 200
            ),
            "the orders page after PostgreSQL",
            120,
        )
    for page in pages.values():
        assert page.status_code == 503, page.text[:500]
        assert page.headers["Retry-After"] == "10"
    assert "잠시 이용할 수 없습니다" in pages["ko"].text
    assert "Briefly unavailable" in pages["en"].text
    assert "Traceback" not in pages["en"].text
    assert posted.status_code == 503, posted.text[:500]
    counts = _check_journal(deployment, load, sim)
    assert probe["idempotency_key"] not in counts["keys"]  # refused whole, not half-written
    del counts["keys"]
    print(f"\npostgresql away 10 s: {counts}, posts {dict(load.outcomes)}")
    print(f"  orders again after (s): {orders_back - started:.2f}")
    print(f"  orders page again after (s): {page_back - started:.2f}")
