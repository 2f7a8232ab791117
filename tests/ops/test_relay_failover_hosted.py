"""The hosted process layout for real: the simulator, two web processes, a task worker
and `runrelay` processes on PostgreSQL and Redis. Sockets on both web processes watching
one symbol get the same frames from one upstream registration (counted at the simulator).
The active relay is killed with SIGKILL twice, each time with a standby already running:
data resumes on both processes, the simulator's one-session-per-app-key rule never refused
a session, and afterwards /readyz on both web processes finds the worker and the new relay.
The failover times (kill -> first frame again) are printed, not asserted."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
import websockets
from django.conf import settings
from django.db import connection
from django.test import Client

from kisweb.serving import module_args
from market.lease import PREFIX
from market.symbols import load_bundled
from tests.helpers import ROOT, free_port, wait_until

pytestmark = pytest.mark.hosted

SYMBOL = "005930"
FRAMES_TO_COMPARE = 10
WAIT_S = 90  # generous: four Django processes start on two shared cores


@pytest.fixture(scope="module")
def simulator():
    """A ticking market (ten steps a second), unlike the other ops tests' stopped one."""
    from kisweb.kissim.testing import SimulatorThread

    with SimulatorThread(speed=10) as thread:
        yield thread


@pytest.fixture
def session_cookie(credential, alice):
    load_bundled()
    client = Client()
    client.force_login(alice)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _env(sim) -> dict[str, str]:
    db = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "KISWEB_KIS_PAPER_REST_URL": sim.paper_url,
        "KISWEB_KIS_PAPER_WS_URL": sim.paper_ws_url,
        "KISWEB_KIS_REAL_REST_URL": sim.real_url,
        "KISWEB_KIS_REAL_WS_URL": sim.real_ws_url,
        "KISWEB_RELAY_IN_PROCESS": "0",
        "KISWEB_RELAY_REDIS_LEASE_TTL_MS": "5000",
        "KISWEB_RELAY_REDIS_LEASE_RENEW_MS": "1500",
        "PYTHONUNBUFFERED": "1",
    }


class Processes:
    """Child processes writing to files (a pipe nobody reads would stall them)."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, name: str, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
        log = self.logs / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, *args], cwd=ROOT, env=self.env, stdout=out, stderr=out
            )
        self.started.append((process, log))
        return process, log

    def web(self, name: str) -> int:
        """A web process as hosted mode runs it, on a free port; returns the port."""
        port = free_port()
        self.start(name, *module_args("127.0.0.1", port))
        return port

    def relay(self, name: str) -> tuple[subprocess.Popen[bytes], Path]:
        return self.start(name, "manage.py", "runrelay")

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


async def _holder(log: Path, process: subprocess.Popen[bytes]) -> str:
    """The lease holder id the relay printed when it came up."""
    found: list[str] = []

    def printed() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the relay exited:\n{log.read_text()}")
        if match := re.search(r"relay (\S+) standing by", log.read_text(errors="replace")):
            found.append(match.group(1))
        return bool(found)

    await wait_until(printed, f"{log.name} to start", WAIT_S)
    return found[0]


async def _ready(port: int) -> None:
    async with httpx.AsyncClient() as client:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise AssertionError(f"the web server on {port} never answered /healthz")


async def _readyz_ok(port: int) -> None:
    said = "no answer"
    async with httpx.AsyncClient() as client:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                answer = await client.get(f"http://127.0.0.1:{port}/readyz")
                if answer.status_code == 200:
                    return
                said = answer.text[:300]
            await asyncio.sleep(0.5)
    raise AssertionError(f"/readyz on {port} never said ready: {said}")


class Watcher:
    """One browser socket on one web process, watching SYMBOL's trades."""

    def __init__(self, port: int, cookie: str) -> None:
        self.port, self.cookie = port, cookie
        self.frames: list[tuple[float, str]] = []  # (arrival, text)
        self.errors: list[str] = []

    async def run(self) -> None:
        url = f"ws://127.0.0.1:{self.port}/ws/market/"
        headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={self.cookie}"}
        origin = websockets.Origin(f"http://127.0.0.1:{self.port}")
        async with websockets.connect(url, additional_headers=headers, origin=origin) as ws:
            await ws.send(json.dumps({"type": "subscribe", "symbol": SYMBOL, "streams": ["trade"]}))
            async for text in ws:
                message = json.loads(text)
                if message.get("snapshot"):
                    continue  # a socket's own catch-up copy, not the fanned-out stream
                if message.get("type") == "trade" and message.get("symbol") == SYMBOL:
                    self.frames.append((time.monotonic(), str(text)))
                elif message.get("type") == "error":
                    self.errors.append(str(text))

    def since(self, moment: float) -> list[str]:
        return [text for at, text in self.frames if at > moment]


def _same_run(first: list[str], second: list[str]) -> list[str]:
    """The frames both received, from the first one they share, in order; equal lists."""
    start = next(i for i, text in enumerate(second) if text in first)
    offset = first.index(second[start])
    a = first[offset : offset + FRAMES_TO_COMPARE]
    b = second[start : start + FRAMES_TO_COMPARE]
    assert a == b, "the two web processes' sockets got different frames"
    return a


async def _both_get_frames_after(watchers: list[Watcher], moment: float) -> list[str]:
    """Wait for FRAMES_TO_COMPARE frames after ``moment`` at each socket; they are the same."""
    needed = FRAMES_TO_COMPARE + 5

    def enough() -> bool:
        return all(len(w.since(moment)) >= needed for w in watchers)

    await wait_until(enough, "frames on both web processes", WAIT_S)
    return _same_run(watchers[0].since(moment), watchers[1].since(moment))


async def _active_holder(redis) -> str:
    value = await redis.get(f"{PREFIX}:active")
    return value.decode().rsplit("#", 1)[0] if value else ""


async def _wait_active(redis, holder: str) -> None:
    seen = {"holder": ""}

    async def poll() -> None:
        while seen["holder"] != holder:
            seen["holder"] = await _active_holder(redis)
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), WAIT_S)


async def _kill_and_wait_for_frames(
    victim, heir_id: str, watchers: list[Watcher], redis
) -> tuple[float, float]:
    """SIGKILL the active relay; seconds until ``heir_id`` held the active lease, and until
    both sockets had a frame again."""
    killed_at = time.monotonic()
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    await _wait_active(redis, heir_id)
    took_over = time.monotonic() - killed_at
    # Frames of the dead relay still in flight arrive within milliseconds; anything half a
    # second later comes from the relay that took over.
    resumed_after = killed_at + 0.5
    await _both_get_frames_after(watchers, resumed_after)
    firsts = [next(at for at, _text in w.frames if at > resumed_after) for w in watchers]
    return took_over, max(firsts) - killed_at


@pytest.mark.django_db(transaction=True)
async def test_two_web_processes_one_relay_and_its_standbys_take_over_after_sigkill(
    sim, credential, session_cookie, tmp_path
):
    assert settings.REDIS_URL, "hosted tests run with REDIS_URL (make test)"
    appkey = credential.app_key
    sim.stats.reset()
    redis = aioredis.Redis.from_url(settings.REDIS_URL)
    processes = Processes(_env(sim), tmp_path)
    tasks: list[asyncio.Task[None]] = []
    failovers: list[tuple[float, float]] = []
    try:
        ports = [processes.web("web-1"), processes.web("web-2")]
        worker, _worker_log = processes.start("worker", "manage.py", "taskworker")
        first, first_log = processes.relay("relay-1")
        first_id = await _holder(first_log, first)
        await _wait_active(redis, first_id)
        second, second_log = processes.relay("relay-2")
        second_id = await _holder(second_log, second)
        for port in ports:
            await _ready(port)
        assert await _active_holder(redis) == first_id  # the second one stands by

        watchers = [Watcher(port, session_cookie) for port in ports]
        tasks = [asyncio.create_task(w.run()) for w in watchers]
        await _both_get_frames_after(watchers, 0.0)
        assert sim.stats.registrations(appkey, "H0STCNT0", SYMBOL) == 1
        assert sim.stats.ws_sessions(appkey) == 1

        # The standby takes over from the killed relay.
        failovers.append(await _kill_and_wait_for_frames(first, second_id, watchers, redis))
        assert sim.stats.registrations(appkey, "H0STCNT0", SYMBOL) == 2
        assert sim.stats.session_refusals(appkey) == 0

        # A relay started afterwards stands by, then takes over in turn.
        third, third_log = processes.relay("relay-3")
        third_id = await _holder(third_log, third)
        assert await _active_holder(redis) == second_id
        failovers.append(await _kill_and_wait_for_frames(second, third_id, watchers, redis))
        assert third.poll() is None

        # One registration per relay that held the key, one session at a time, none refused.
        assert sim.stats.registrations(appkey, "H0STCNT0", SYMBOL) == 3
        assert sim.stats.session_refusals(appkey) == 0
        assert sim.stats.ws_sessions(appkey) == 1
        assert all(not w.errors for w in watchers), [w.errors for w in watchers]
        # The whole layout is ready on both web processes: database, Redis, the worker's
        # heartbeat and the new active relay's.
        assert worker.poll() is None
        for port in ports:
            await _readyz_ok(port)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        processes.stop_all()
        await redis.aclose()
        for lease_s, frames_s in failovers:
            print(f"relay failover: SIGKILL -> new active {lease_s:.2f} s, frames {frames_s:.2f} s")
    output = processes.output()
    assert credential.reveal_app_secret() not in output, output
