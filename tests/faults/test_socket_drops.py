"""The upstream socket dropped again and again while browser sockets watch: the real web server
(demo layout, the hub in its process) against the simulator, ``Faults.drop_sockets`` every
few seconds, browser sockets opened as ``static/js/stream.js`` opens them.

After each drop, data resumes on every socket for every symbol with nothing but status
messages in between; no socket closes or subscribes again; the simulator holds the same
registrations as before; each reconnect waits at least what the relay's backoff allows
(counted where the connects arrive, at the simulator); the health strip shows every
reconnect of the day and the last gap. ``make test`` runs a short version (20 sockets x 10
symbols, a drop every 5 s); ``KISWEB_SOAK`` (``make soak``) runs 10 minutes of 100 sockets x
30 symbols with a drop every 20 s. The gaps are recorded as figures, never asserted.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import statistics
import time
from dataclasses import dataclass

import pytest

from kisweb.kis.realtime import RealtimeSession
from kisweb.kissim import make_account
from kisweb.kissim.symbols import KRX_LISTINGS
from market.hub import Hub
from tests.faults.market_rig import (
    BrowserSocket,
    DemoSite,
    calm_floors,
    p50_max,
    sim_registrations,
    strip_figures,
)
from tests.figures import record
from tests.helpers import max_in_any_window, wait_until

# The rig serves a demo site of its own (SQLite) whatever database the suite is on.
ON_POSTGRESQL = os.environ.get("DATABASE_URL", "").startswith("postgres")


@dataclass(frozen=True)
class Plan:
    name: str
    sockets: int
    symbols: int
    every_s: float  # a drop this long after the previous one (or as soon as data is back)
    until_s: float  # no drop starts later than this after the first
    speed: float  # simulator ticks a second: every symbol trades on each


FAST = Plan("fast", sockets=20, symbols=10, every_s=5, until_s=17, speed=3)
SOAK = Plan("soak", sockets=100, symbols=30, every_s=20, until_s=600, speed=1)
PLAN = SOAK if os.environ.get("KISWEB_SOAK") else FAST
RESUME_S = 90  # liveness only: the backoff alone may wait 30 s
SETTLE_S = 60 + PLAN.sockets * PLAN.symbols / 10  # liveness only: every socket subscribing

pytestmark = [
    pytest.mark.timeout(PLAN.until_s + 300),
    pytest.mark.skipif(
        ON_POSTGRESQL,
        reason="the demo site under test is SQLite on either pass; the SQLite pass runs it",
    ),
]


@pytest.fixture(scope="module")
def simulator():
    """A market of its own that ticks (the suite's shared one is not dropped under others)."""
    from kisweb.kissim.testing import SimulatorThread

    with SimulatorThread(speed=PLAN.speed) as thread:
        yield thread


def _backoff() -> tuple[float, float]:
    """The relay's reconnect rule as its code sets it: the hub's minimum, the session's cap."""
    minimum = float(Hub(layer=object()).session_options.get("reconnect_min_s", 0.5))
    cap = inspect.signature(RealtimeSession).parameters["reconnect_max_s"].default
    maximum = float(Hub(layer=object()).session_options.get("reconnect_max_s", cap))
    return minimum, maximum


async def test_data_resumes_on_every_socket_after_each_upstream_drop(simulator):
    sim = simulator.sim
    account = sim.add_account(make_account("paper"))
    app_key = account.appkey
    symbols = [code for code, *_ in KRX_LISTINGS[: PLAN.symbols]]
    minimum_s, maximum_s = _backoff()
    with DemoSite(sim, account) as site:
        sockets = [BrowserSocket(site.port, site.cookie, symbols) for _ in range(PLAN.sockets)]
        tasks = [asyncio.create_task(s.run()) for s in sockets]
        try:
            opened = time.monotonic()
            await wait_until(
                lambda: all(s.subscribed() for s in sockets),
                "every subscription answered",
                SETTLE_S,
            )
            began = time.monotonic()
            settled_s = began - opened
            await wait_until(
                lambda: all(s.has_frames_after(began) for s in sockets),
                "the first frames",
                SETTLE_S,
            )
            registered = sim_registrations(simulator, app_key)
            quotes = [r for r in registered if r[0] == "H0STCNT0"]
            assert sorted(key for _tr, key in quotes) == sorted(symbols)
            assert len(registered) > len(symbols)  # the notices' registrations too
            drops, reopens, counts = await _drop_repeatedly(simulator, app_key, sockets)
            html = site.page("/")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    opens = sim.stats.session_opens(app_key)
    assert len(opens) == len(drops) + 1  # one connect per drop, none refused, none extra
    assert sim.stats.session_refusals(app_key) == 0
    for k, (floor, dropped, reopened) in enumerate(
        zip(calm_floors(opens, drops, minimum_s, maximum_s), drops, reopens, strict=True)
    ):
        waited = reopened - dropped
        assert waited >= floor - 0.05, f"reconnect {k + 1} after {waited:.2f} s, rule {floor} s"
    assert counts == [len(registered)] * len(drops)

    for socket in sockets:
        assert socket.connects == 1 and socket.closed == "", socket.closed  # never reopened
        assert socket.subscribes_sent == len(symbols)  # nobody subscribed again
        assert socket.late == {}, socket.late  # after a drop: quotes and status only
        assert socket.reconnecting_seen() == len(drops)
        assert socket.last_status["reconnects_today"] == len(drops)
        assert socket.last_status["last_gap_s"] > 0
    shown = strip_figures(html)
    assert shown["reconnects"] == str(len(drops))
    assert shown["gap"].endswith(" s") and float(shown["gap"][:-2]) > 0

    where = f"{PLAN.sockets} sockets x {PLAN.symbols} symbols, a drop every {PLAN.every_s:g} s"
    record("faults", f"upstream drops ({PLAN.name})", len(drops), note=where)
    for k, reopened in enumerate(reopens):
        gaps = [gap for s in sockets for gap in s.gaps_around(reopened)]
        record(
            "faults",
            f"gap after upstream drop {k + 1} ({PLAN.name}), p50 / max over socket-symbols",
            p50_max(gaps),
            "s",
            note=f"backoff floor {calm_floors(opens, drops, minimum_s, maximum_s)[k]:g} s",
        )
    frames = sorted(s.frames() for s in sockets)
    record(
        "faults",
        f"frames received per socket during the drops ({PLAN.name}), min / median / max",
        f"{frames[0]} / {statistics.median(frames):g} / {frames[-1]}",
        note=where,
    )
    record(
        "faults",
        f"upstream connects at the simulator, most in any minute ({PLAN.name})",
        max_in_any_window(opens, 60.0),
        "per minute",
        note=f"{len(opens)} connects in {opens[-1] - opens[0]:.0f} s",
    )
    record(
        "faults",
        f"upstream registrations before / after each drop ({PLAN.name})",
        f"{len(registered)} / {', '.join(str(c) for c in counts)}",
        note=f"{len(symbols)} symbols + the notices",
    )
    record("faults", f"last gap on the health strip ({PLAN.name})", shown["gap"])
    record(
        "faults",
        f"every browser subscription answered after ({PLAN.name})",
        round(settled_s, 2),
        "s",
        note=f"{PLAN.sockets} sockets opened at once, {PLAN.symbols} subscribes each",
    )
    statuses = sorted(s.kinds["status"] for s in sockets)
    record(
        "faults",
        f"status messages per socket over the run ({PLAN.name}), median",
        statistics.median(statuses),
        note="the hub publishes its status to every socket on each subscribe of any of them",
    )


async def _drop_repeatedly(simulator, app_key: str, sockets: list[BrowserSocket]):
    """Drop the upstream every ``every_s`` (or once data is back, if later); returns the
    drop moments, the simulator's reconnect moments and the registrations after each."""
    sim = simulator.sim
    registered = sim_registrations(simulator, app_key)
    drops: list[float] = []
    reopens: list[float] = []
    counts: list[int] = []
    first = time.monotonic() + PLAN.every_s
    next_drop = first
    while next_drop <= first + PLAN.until_s:
        await asyncio.sleep(max(0.0, next_drop - time.monotonic()))
        opened = len(sim.stats.session_opens(app_key))
        drops.append(time.monotonic())
        sim.faults.drop_sockets()
        await wait_until(
            lambda n=opened: len(sim.stats.session_opens(app_key)) > n, "the reconnect", RESUME_S
        )
        reopened = sim.stats.session_opens(app_key)[opened]
        reopens.append(reopened)
        await wait_until(
            lambda: sim_registrations(simulator, app_key) == registered,
            "the same registrations again",
            RESUME_S,
        )
        counts.append(len(sim_registrations(simulator, app_key)))
        await wait_until(
            lambda at=reopened: all(s.has_frames_after(at) for s in sockets),
            "frames on every socket for every symbol",
            RESUME_S,
        )
        next_drop = max(drops[-1] + PLAN.every_s, time.monotonic())
    return drops, reopens, counts
