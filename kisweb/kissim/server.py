"""The Simulator: two KIS environments (real and paper) on two ports, one shared exchange.

Each port serves REST and WebSocket like KIS's hosts do (docs/kis-protocol.md §1), so a client only
changes its base URLs. A background task advances the random walk `speed` times a second.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web

from .accounts import DEMO_ACCOUNTS, SimAccount
from .clock import Clock
from .faults import Faults
from .market import Market
from .oauth import TokenStore
from .realtime import Hub
from .rest import Api
from .stats import Stats

TICK_INTERVAL_S = 1.0  # one random-walk step per second at speed 1


class Simulator:
    def __init__(
        self,
        accounts: Iterable[SimAccount] | None = None,
        seed: int = 0,
        host: str = "127.0.0.1",
        real_port: int = 0,
        paper_port: int = 0,
        speed: float = 1.0,
        clock: str | Clock = "always",
        now: Callable[[], dt.datetime] | None = None,
        pingpong_interval_s: float = 30.0,
        pingpong_timeout_s: float = 90.0,
        rate_limits: dict[str, int] | None = None,
        token_issue_interval_s: float | None = None,
        market: Market | None = None,
    ):
        """`speed` multiplies the tick rate; 0 stops the walk (tests then call market.step()).

        `clock` is "always", "krx", or a Clock; `now` injects the wall clock for "krx".
        `rate_limits` overrides the per-second limits {"real": 20, "paper": 2} (§6), so
        tests about other rules need not pace themselves. `token_issue_interval_s` shortens
        the one-new-token-per-minute rule (§2.1; default 60 s) for tests that re-issue.
        `market` restarts a simulator over an earlier one's exchange: KIS's book and order
        history outlive a restart of its gateway, while tokens, rate windows and sessions
        do not. The market keeps its own clock; `clock` and `seed` are then unused.
        """
        self.host = host
        self.real_port = real_port
        self.paper_port = paper_port
        self.speed = speed
        if market is not None:
            self.clock = market.clock
        else:
            self.clock = clock if isinstance(clock, Clock) else Clock(clock, now)
        self.faults = Faults()
        self.stats = Stats()
        self.tokens = TokenStore(token_issue_interval_s)
        self.market = market or Market(seed=seed, clock=self.clock)
        self.hub = Hub(
            self.market,
            self.tokens,
            self.faults,
            self.stats,
            self._account_for,
            pingpong_interval_s,
            pingpong_timeout_s,
        )
        self.api = Api(self, rate_limits)
        self.faults.bind(
            on_drop=self._threadsafe(self._drop_sockets),
            on_expire=self.tokens.expire_all,
            on_malformed=self._threadsafe(self.hub.send_malformed),
        )
        for account in DEMO_ACCOUNTS if accounts is None else accounts:
            self.add_account(account)
        self._runners: list[web.AppRunner] = []
        self._ticker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = 0.0

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.hub.loop = self._loop
        ports = []
        try:
            for env, port in (("real", self.real_port), ("paper", self.paper_port)):
                runner = web.AppRunner(
                    self.api.application(env),
                    access_log=None,
                    handle_signals=False,
                    shutdown_timeout=0.1,
                )
                self._runners.append(runner)
                await runner.setup()
                await web.TCPSite(runner, self.host, port, reuse_address=True).start()
                ports.append(runner.addresses[0][1])
        except OSError:
            await self.stop()  # a busy port: release whatever did bind
            raise
        self.real_port, self.paper_port = ports
        self._started = time.monotonic()
        if self.speed > 0:
            self._ticker = asyncio.create_task(self._tick())

    async def stop(self) -> None:
        if self._ticker:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
            self._ticker = None
        await self.hub.close_all()
        self._drop_sockets()
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()
        self.hub.loop = None

    async def _tick(self) -> None:
        interval = TICK_INTERVAL_S / self.speed
        while True:
            await asyncio.sleep(interval)
            if self.clock.is_open:
                self.market.step()

    # -- accounts ------------------------------------------------------------------------

    def add_account(self, account: SimAccount) -> SimAccount:
        self.market.add_account(account)
        return account

    def _account_for(self, appkey: str) -> SimAccount | None:
        ledger = self.market.ledgers.get(appkey)
        return ledger.account if ledger else None

    # -- addresses -----------------------------------------------------------------------

    @property
    def real_url(self) -> str:
        return f"http://{self.host}:{self.real_port}"

    @property
    def paper_url(self) -> str:
        return f"http://{self.host}:{self.paper_port}"

    @property
    def real_ws_url(self) -> str:
        return f"ws://{self.host}:{self.real_port}"

    @property
    def paper_ws_url(self) -> str:
        return f"ws://{self.host}:{self.paper_port}"

    # -- faults and control --------------------------------------------------------------

    def _threadsafe(self, fn: Callable[[], None]) -> Callable[[], None]:
        """Run `fn` on the simulator's loop, whichever thread flips the switch."""

        def call() -> None:
            loop = self._loop
            if loop is None or loop.is_closed():
                return
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                fn()
            else:
                loop.call_soon_threadsafe(fn)

        return call

    def _drop_sockets(self) -> None:
        for session in list(self.hub.sessions):
            if session.transport:
                session.transport.close()
        for task in list(self.api.inflight):
            task.cancel()

    def status(self) -> dict[str, object]:
        return {
            "uptime_s": round(time.monotonic() - self._started, 3) if self._started else 0,
            "symbols": len(self.market.symbols),
            "accounts": len(self.market.ledgers),
            "sessions": len(self.hub.sessions),
            "clock": {
                "mode": self.clock.mode,
                "session": self.clock.session().value,
                "now": self.clock.now().isoformat(timespec="seconds"),
            },
            "speed": self.speed,
            "real_url": self.real_url,
            "paper_url": self.paper_url,
            "real_ws_url": self.real_ws_url,
            "paper_ws_url": self.paper_ws_url,
            "faults": self.faults.snapshot(),
        }

    async def control(self, request: web.Request) -> web.Response:
        """`GET /__sim__/status`, `GET|POST /__sim__/faults` (off the KIS paths)."""
        if request.path == "/__sim__/status" and request.method == "GET":
            return web.json_response(self.status())
        if request.path != "/__sim__/faults":
            return web.json_response({"error": "not found"}, status=404)
        if request.method == "POST":
            try:
                changes = await request.json()
            except ValueError:
                changes = None
            if not isinstance(changes, dict):
                return web.json_response({"error": "send a JSON object"}, status=400)
            try:
                self._apply_faults(changes)
            except (TypeError, ValueError) as problem:
                return web.json_response({"error": str(problem)}, status=400)
        elif request.method != "GET":
            return web.json_response({"error": "GET or POST"}, status=405)
        return web.json_response(self.faults.snapshot(), dumps=json.dumps)

    def _apply_faults(self, changes: dict[str, Any]) -> None:
        faults = self.faults
        known = {
            "hang",
            "http_500",
            "rate_limit_all",
            "lose_order_answers",
            "data_changed",
            "schema_drift",
            "drop_sockets",
            "expire_tokens",
            "send_malformed_frame",
            "reset",
        }
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown switches: {sorted(unknown)}")
        if changes.get("reset"):
            faults.reset()
        for flag in ("hang", "http_500", "rate_limit_all"):
            if flag in changes:
                if not isinstance(changes[flag], bool):
                    raise TypeError(f"{flag} must be true or false")
                setattr(faults, flag, changes[flag])
        if "lose_order_answers" in changes:
            faults.lose_order_answers = int(changes["lose_order_answers"])
        if "data_changed" in changes:
            faults.data_changed = int(changes["data_changed"])
        if "schema_drift" in changes:
            drift = changes["schema_drift"]
            if not isinstance(drift, dict):
                raise TypeError("schema_drift must map tr_id to a count")
            faults.schema_drift = {str(k): int(v) for k, v in drift.items()}
        if changes.get("drop_sockets"):
            faults.drop_sockets()
        if changes.get("expire_tokens"):
            faults.expire_tokens()
        if changes.get("send_malformed_frame"):
            faults.send_malformed_frame()
