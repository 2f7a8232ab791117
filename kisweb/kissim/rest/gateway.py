"""The KIS gateway: request checks, admission, rate limits and routing (§2–§6).

One aiohttp application per environment; both share the simulator's market and stores.
Every KIS request goes through `Api.handle`, which applies the fault switches, checks the
headers in gateway order (app key, secret, environment, rate, token, TR ID) and hands the
request to the TR handler its route names.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
import weakref
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from .. import oauth, wire
from ..market import Ledger, Rejected
from ..stats import RequestRecord
from ..wire import ApiError, Side
from . import domestic_orders, domestic_quotes, overseas
from .tr import Handler, Request, dumps, json_object, rejection

if TYPE_CHECKING:
    from ..server import Simulator

log = logging.getLogger(__name__)

RATE_LIMITS = {"real": 20, "paper": 2}  # requests per sliding second, per app key (§6)
WS_PATHS = ("/", "/tryitout")
ARRIVED = web.RequestKey("arrived", float)  # when the gateway saw the request

DQ = "/uapi/domestic-stock/v1/quotations"
DT = "/uapi/domestic-stock/v1/trading"
OQ = "/uapi/overseas-price/v1/quotations"
OT = "/uapi/overseas-stock/v1/trading"


class AnswerLost(Exception):
    """The order was taken; the HTTP answer must vanish (fault `lose_order_answers`)."""


@dataclass(frozen=True)
class Route:
    method: str
    handler: Handler
    trs: dict[str, dict[str, str]]  # env -> {tr_id: the handler's per-TR argument}
    places_order: bool = False  # what the fault `lose_order_answers` applies to


def _v(real: dict[str, str]) -> dict[str, dict[str, str]]:
    """Real TRs and their paper twins with the first letter replaced by V (§3.5)."""
    return {"real": real, "paper": {"V" + tr[1:]: arg for tr, arg in real.items()}}


def _both(*trs: str) -> dict[str, dict[str, str]]:
    return {"real": dict.fromkeys(trs, ""), "paper": dict.fromkeys(trs, "")}


BUY, SELL = Side.BUY, Side.SELL
ROUTES: dict[str, Route] = {
    f"{DQ}/inquire-price": Route("GET", domestic_quotes.inquire_price, _both("FHKST01010100")),
    f"{DQ}/inquire-asking-price-exp-ccn": Route(
        "GET", domestic_quotes.asking_price, _both("FHKST01010200")
    ),
    f"{DQ}/inquire-daily-price": Route("GET", domestic_quotes.daily_price, _both("FHKST01010400")),
    f"{DQ}/inquire-daily-itemchartprice": Route(
        "GET", domestic_quotes.period_chart, _both("FHKST03010100")
    ),
    f"{DQ}/inquire-time-itemchartprice": Route(
        "GET", domestic_quotes.minute_chart, _both("FHKST03010200")
    ),
    # python-kis asks the real host for every symbol lookup, in paper mode too (§4.2).
    f"{DQ}/search-info": Route(
        "GET", domestic_quotes.search_info, {"real": {"CTPF1604R": ""}, "paper": {}}
    ),
    # The KRX calendar (§4.2): real host only, like KIS.
    f"{DQ}/chk-holiday": Route(
        "GET", domestic_quotes.chk_holiday, {"real": {"CTCA0903R": ""}, "paper": {}}
    ),
    f"{DT}/order-cash": Route(
        "POST",
        domestic_orders.order_cash,
        _v({"TTTC0012U": BUY, "TTTC0802U": BUY, "TTTC0011U": SELL, "TTTC0801U": SELL}),
        places_order=True,
    ),
    f"{DT}/order-rvsecncl": Route(
        "POST", domestic_orders.order_rvsecncl, _v({"TTTC0013U": "", "TTTC0803U": ""})
    ),
    f"{DT}/inquire-psbl-rvsecncl": Route(
        "GET",
        domestic_orders.psbl_rvsecncl,
        {"real": {"TTTC0084R": "", "TTTC8036R": ""}, "paper": {}},
    ),
    f"{DT}/inquire-daily-ccld": Route(
        "GET",
        domestic_orders.daily_ccld,
        _v({"TTTC0081R": "", "TTTC8001R": "", "CTSC9215R": "", "CTSC9115R": ""}),
    ),
    f"{DT}/inquire-balance": Route("GET", domestic_orders.balance, _v({"TTTC8434R": ""})),
    f"{DT}/inquire-psbl-order": Route("GET", domestic_orders.psbl_order, _v({"TTTC8908R": ""})),
    f"{OQ}/price": Route("GET", overseas.us_price, _both("HHDFS00000300")),
    f"{OQ}/dailyprice": Route("GET", overseas.us_dailyprice, _both("HHDFS76240000")),
    f"{OQ}/inquire-asking-price": Route(
        "GET", overseas.us_asking_price, {"real": {"HHDFS76200100": ""}, "paper": {}}
    ),
    f"{OQ}/price-detail": Route(
        "GET", overseas.us_price_detail, {"real": {"HHDFS76200200": ""}, "paper": {}}
    ),
    f"{OT}/order": Route(
        "POST",
        overseas.us_order,
        {
            "real": {"TTTT1002U": BUY, "TTTT1006U": SELL},
            # VTTT1001U per the comments/Postman; VTTT1006U is what the V-rule derives (§4.3).
            "paper": {"VTTT1002U": BUY, "VTTT1001U": SELL, "VTTT1006U": SELL},
        },
        places_order=True,
    ),
    f"{OT}/order-rvsecncl": Route("POST", overseas.us_rvsecncl, _v({"TTTT1004U": ""})),
    f"{OT}/inquire-balance": Route("GET", overseas.us_balance, _v({"TTTS3012R": ""})),
    f"{OT}/inquire-ccnl": Route("GET", overseas.us_ccnl, _v({"TTTS3035R": ""})),
    f"{OT}/inquire-nccs": Route("GET", overseas.us_nccs, _v({"TTTS3018R": ""})),
    f"{OT}/inquire-psamount": Route("GET", overseas.us_psamount, _v({"TTTS3007R": ""})),
    f"{OT}/inquire-present-balance": Route(
        "GET", overseas.us_present_balance, _v({"CTRP6504R": ""})
    ),
}


class Api:
    """The KIS REST gateway of both environments."""

    def __init__(self, sim: Simulator, rate_limits: dict[str, int] | None = None):
        self.sim = sim
        self.rate_limits = {**RATE_LIMITS, **(rate_limits or {})}
        self._windows: dict[tuple[str, str], deque[float]] = {}
        self.inflight: set[asyncio.Task[object]] = set()
        # A number per TCP connection, so tests can see whether a client kept its own alive.
        self._connections: weakref.WeakKeyDictionary[asyncio.BaseTransport, int] = (
            weakref.WeakKeyDictionary()
        )
        self._connection_numbers = itertools.count(1)

    def application(self, env: str) -> web.Application:
        app = web.Application(client_max_size=1024 * 1024)

        async def entry(request: web.Request) -> web.StreamResponse:
            return await self.handle(request, env)

        app.router.add_route("*", "/{tail:.*}", entry)
        return app

    # -- entry ---------------------------------------------------------------------------

    async def handle(self, request: web.Request, env: str) -> web.StreamResponse:
        path = request.path
        if path.startswith("/__sim__/"):
            return await self.sim.control(request)
        upgrade = request.headers.get("upgrade", "").lower() == "websocket"
        if upgrade and (path in WS_PATHS or path.startswith("/tryitout/")):
            return await self.sim.hub.handle(request, env)
        task = asyncio.current_task()
        assert task is not None, "aiohttp runs every handler in a task"
        self.inflight.add(task)
        try:
            return await self._kis(request, env, path)
        finally:
            self.inflight.discard(task)

    async def _kis(self, request: web.Request, env: str, path: str) -> web.StreamResponse:
        faults = self.sim.faults
        request[ARRIVED] = arrived = time.monotonic()
        if faults.hang:
            await asyncio.Event().wait()  # until drop_sockets or stop cancels this task
        raw = await request.read()
        tr_id = request.headers.get("tr_id", "").strip()
        appkey = request.headers.get("appkey", "").strip()
        response: web.Response
        if faults.http_500:
            response = wire.error_response(wire.SERVER_ERROR, tr_id)
        elif faults.rate_limit_all:
            response = wire.error_response(wire.RATE_LIMITED, tr_id)
        else:
            try:
                response = await self._dispatch(request, env, path, raw)
            except AnswerLost:
                # The order is in the book; the caller never hears so (§5, EGW00301-style).
                self._record(request, arrived, env, appkey, path, tr_id, 0, "")
                if request.transport:
                    request.transport.close()
                return web.Response(status=204)
            except ApiError as error:
                response = wire.error_response(error.answer, tr_id)
            except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError):
                # Input we failed to anticipate still gets KIS's answer, never a crash page.
                log.exception("kissim: unexpected input on %s", path)
                response = wire.error_response(wire.SERVER_ERROR, tr_id)
        self._record(request, arrived, env, appkey, path, tr_id, response.status, _msg_cd(response))
        return response

    def _record(
        self,
        request: web.Request,
        t: float,
        env: str,
        appkey: str,
        path: str,
        tr_id: str,
        status: int,
        msg_cd: str,
    ) -> None:
        self.sim.stats.record_request(
            RequestRecord(
                t, env, appkey, path, tr_id, status, msg_cd, self._connection(request.transport)
            )
        )

    def _connection(self, transport: asyncio.BaseTransport | None) -> int:
        """The number of the TCP connection a request came on (0: already gone)."""
        if transport is None:
            return 0
        if transport not in self._connections:
            self._connections[transport] = next(self._connection_numbers)
        return self._connections[transport]

    async def _dispatch(
        self, request: web.Request, env: str, path: str, raw: bytes
    ) -> web.Response:
        if path.startswith("/oauth2/"):
            return await oauth.handle(self.sim, request, env, raw)
        if path == "/uapi/hashkey" and request.method == "POST":
            self._credentials(request, env)
            body = json_object(raw)
            return web.json_response({"JsonBody": body, "HASH": oauth.hash_body(raw)}, dumps=dumps)
        route = ROUTES.get(path)
        if route is None or request.method != route.method:
            raise ApiError(wire.NO_ROUTE)
        ledger = self._credentials(request, env)
        self._authorize(request, ledger)
        tr_id = request.headers.get("tr_id", "").strip()
        if tr_id not in route.trs[env]:
            other = "real" if env == "paper" else "paper"
            twin = "V" + tr_id[1:] if tr_id else ""
            if env == "paper" and tr_id in route.trs[other] and twin in route.trs[env]:
                raise ApiError(wire.NOT_PAPER_TR)
            raise ApiError(wire.NO_SERVICE)
        if route.method == "GET":
            params = {k.upper(): v for k, v in request.query.items()}
        else:
            params = json_object(raw)
        req = Request(
            self.sim,
            env,
            ledger,
            tr_id,
            params,
            request.headers.get("tr_cont", "").strip(),
            route.trs[env][tr_id],
        )
        self.sim.market.roll_day()
        if req.continuing and route.method == "GET" and self.sim.faults.take_data_changed():
            raise ApiError(wire.DATA_CHANGED)
        try:
            body, tr_cont = route.handler(req)
        except Rejected as refusal:
            raise ApiError(rejection(refusal.reason, env)) from None
        if route.places_order and self.sim.faults.take_lost_answer():
            raise AnswerLost
        return wire.envelope_response(body, tr_id=tr_id, tr_cont=tr_cont)

    # -- gateway checks ------------------------------------------------------------------

    def _credentials(self, request: web.Request, env: str) -> Ledger:
        appkey = request.headers.get("appkey", "").strip()
        appsecret = request.headers.get("appsecret", "").strip()
        ledger = oauth.check_credentials(self.sim, env, appkey, appsecret)
        self._admit(env, appkey, request[ARRIVED])
        return ledger

    def _admit(self, env: str, appkey: str, now: float) -> None:
        """Sliding one-second window per app key; refused calls do not use up budget."""
        window = self._windows.setdefault((env, appkey), deque())
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= self.rate_limits[env]:
            raise ApiError(wire.RATE_LIMITED)
        window.append(now)

    def _authorize(self, request: web.Request, ledger: Ledger) -> None:
        header = request.headers.get("authorization", "").strip()
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiError(wire.NOT_BEARER)
        token = self.sim.tokens.lookup(value.strip())
        if token is None or token.appkey != ledger.account.appkey or token.revoked:
            raise ApiError(wire.TOKEN_INVALID)
        if not token.live(time.monotonic()):
            raise ApiError(wire.TOKEN_EXPIRED)
        if request.headers.get("custtype", "P").strip() not in ("P", "B"):
            raise ApiError(wire.BAD_CUSTTYPE)


def _msg_cd(response: web.Response) -> str:
    if response.text:
        try:
            body = json.loads(response.text)
        except ValueError:
            return ""
        if isinstance(body, dict):
            return str(body.get("msg_cd") or body.get("error_code") or "")
    return ""
