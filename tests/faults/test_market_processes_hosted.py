"""The relay and the task worker killed and restarted, as a process manager restarts them:
the hosted layout for real (web, ``runrelay``, ``taskworker`` on PostgreSQL and Redis)
against a ticking simulator, with browser sockets watching three symbols.

The relay is stopped twice with no standby running, once with SIGTERM and once with
SIGKILL, and started again: frames resume on every socket for every symbol, the same
registrations are back at the simulator, and the simulator never saw two sessions of the
app key at once (sampled all along) nor refused one. The worker is SIGKILLed and started
again: its heartbeat and its periodic tasks resume, and ``/readyz`` finds it and the relay.
A standby taking over from a SIGKILLed relay is tests/ops/test_relay_failover_hosted.py;
a killed worker's task run again, tests/ops/test_worker_hosted.py.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from accounts.actions import verify_credential
from kisweb.ops.models import Heartbeat
from market.symbols import load_bundled
from tests.faults.market_rig import (
    START_S,
    BrowserSocket,
    Children,
    SessionWatch,
    sim_registrations,
    simulator_env,
    wait_for_http,
)
from tests.figures import record
from tests.helpers import wait_until

pytestmark = [pytest.mark.hosted, pytest.mark.timeout(400)]

SYMBOLS = ["005930", "000660", "035420"]
SOCKETS = 3


@pytest.fixture(scope="module")
def simulator():
    """A market that ticks five times a second, for these processes alone."""
    from kisweb.kissim.testing import SimulatorThread

    with SimulatorThread(speed=5) as thread:
        yield thread


@pytest.fixture(autouse=True)
def market_always_open(settings):
    settings.KISWEB_MARKET_HOURS = "always"


def _env(sim) -> dict[str, str]:
    db = connection.settings_dict
    return {
        **os.environ,
        **simulator_env(sim),
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "KISWEB_RELAY_IN_PROCESS": "0",
        "KISWEB_RELAY_REDIS_LEASE_TTL_MS": "5000",
        "KISWEB_RELAY_REDIS_LEASE_RENEW_MS": "1500",
        "KISWEB_RECONCILE_EVERY_S": "1",
    }


def _session_cookie(user) -> str:
    load_bundled()
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _beats(worker_id: str) -> list:
    return list(Heartbeat.objects.filter(name="worker", instance=worker_id).values_list("at"))


def _sweeps_done_since(moment) -> int:
    return DBTaskResult.objects.filter(
        task_path="trading.tasks.reconcile_sweep",
        status=TaskResultStatus.SUCCESSFUL,
        finished_at__gt=moment,
    ).count()


@pytest.mark.django_db(transaction=True)
async def test_the_relay_and_the_worker_restarted_resume_with_one_session_per_app_key(
    simulator, alice, alice_credential, tmp_path
):
    assert settings.REDIS_URL, "hosted tests run with REDIS_URL (make test)"
    sim = simulator.sim
    assert (await sync_to_async(verify_credential)(alice, alice_credential)).ok
    app_key = alice_credential.app_key
    cookie = await sync_to_async(_session_cookie)(alice)
    sim.stats.reset()
    children = Children(_env(sim), tmp_path)
    tasks: list[asyncio.Task[None]] = []
    restarts: list[tuple[str, float]] = []
    try:
        with SessionWatch(sim, app_key) as watch:
            port = children.web("web")
            worker = children.start("worker-1", "manage.py", "taskworker", "--worker-id", "one")
            relay = children.start("relay-1", "manage.py", "runrelay")
            await asyncio.to_thread(wait_for_http, port)
            sockets = [
                BrowserSocket(port, cookie, SYMBOLS, settings.SESSION_COOKIE_NAME)
                for _ in range(SOCKETS)
            ]
            tasks = [asyncio.create_task(s.run()) for s in sockets]
            await wait_until(lambda: all(s.subscribed() for s in sockets), "answers", START_S)
            await wait_until(lambda: all(s.has_frames_after(0) for s in sockets), "frames", START_S)
            registered = await asyncio.to_thread(sim_registrations, simulator, app_key)
            assert sorted(k for tr, k in registered if tr == "H0STCNT0") == sorted(SYMBOLS)

            for number, how in enumerate((signal.SIGTERM, signal.SIGKILL), start=2):
                opened = len(sim.stats.session_opens(app_key))
                stopped_at = time.monotonic()
                relay.send_signal(how)
                await asyncio.to_thread(relay.wait, 30)
                relay = children.start(f"relay-{number}", "manage.py", "runrelay")
                await wait_until(
                    lambda n=opened: len(sim.stats.session_opens(app_key)) > n,
                    "the restarted relay's session",
                    START_S,
                )
                reopened = sim.stats.session_opens(app_key)[opened]
                await wait_until(
                    lambda at=reopened: all(s.has_frames_after(at) for s in sockets),
                    "frames on every socket for every symbol",
                    START_S,
                )
                restarts.append((how.name, time.monotonic() - stopped_at))
                assert await asyncio.to_thread(sim_registrations, simulator, app_key) == registered

            # The worker: killed, started again; its beat and its schedule come back.
            assert await sync_to_async(_beats)("one")
            worker.send_signal(signal.SIGKILL)
            await asyncio.to_thread(worker.wait, 30)
            killed = timezone.now()
            worker_killed_at = time.monotonic()
            children.start("worker-2", "manage.py", "taskworker", "--worker-id", "two")
            beats: set = set()

            async def beat_twice() -> None:
                while len(beats) < 2:
                    beats.update(await sync_to_async(_beats)("two"))
                    await asyncio.sleep(0.2)

            await asyncio.wait_for(beat_twice(), START_S)
            worker_back_s = time.monotonic() - worker_killed_at

            async def swept() -> None:
                while not await sync_to_async(_sweeps_done_since)(killed):
                    await asyncio.sleep(0.2)

            await asyncio.wait_for(swept(), START_S)
            sweep_back_s = time.monotonic() - worker_killed_at
            await asyncio.to_thread(wait_for_http, port, "/readyz")
        for socket in sockets:
            assert socket.connects == 1 and socket.closed == "", socket.closed
            assert socket.late == {}, socket.late  # no error, no answer again: quotes, status
        assert watch.most == 1  # never two sessions of the app key at the simulator
        assert sim.stats.session_refusals(app_key) == 0
        assert len(sim.stats.session_opens(app_key)) == 3  # one per relay that ran
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        children.stop_all()
        await sync_to_async(lambda: connection.close())()  # the ORM thread's, before the flush
    output = children.output()
    assert alice_credential.reveal_app_secret() not in output

    for how, seconds in restarts:
        record(
            "faults",
            f"relay stopped with {how} and started again: frames on every socket after",
            round(seconds, 2),
            "s",
            note=f"{SOCKETS} sockets x {len(SYMBOLS)} symbols, no standby, lease TTL 5 s",
        )
    record("faults", "upstream sessions of one app key open at once, most seen", watch.most)
    record(
        "faults",
        "relay restarts: upstream registrations before / after",
        f"{len(registered)} / {len(registered)}",
    )
    record(
        "faults",
        "worker SIGKILLed and started again: heartbeat beating again after",
        round(worker_back_s, 2),
        "s",
    )
    record(
        "faults",
        "worker SIGKILLed and started again: a periodic task done again after",
        round(sweep_back_s, 2),
        "s",
        note="reconcile sweep every 1 s",
    )
