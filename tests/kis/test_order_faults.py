"""Every order entry point under every way an answer can go missing or arrive mangled,
against the simulator over real sockets. What the simulator received is counted there
(``orders_received``, the request log); the client must never resend an order and must
say ``OutcomeUnknown`` whenever the order may exist at KIS (docs/kis-protocol.md §5, DESIGN.md).

Faults the simulator has no switch for (a 200 whose body is not the envelope, a connection
the server closes while idle between two orders, one closed as a request arrives) come
from ``FaultProxy``: a small HTTP proxy in front of the simulator, real sockets both ways.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from decimal import Decimal

import aiohttp
import pytest
from aiohttp import web

from kisweb.kis import (
    InProcessRateLimiter,
    KisClient,
    MemoryTokenStore,
    OrderType,
    OutcomeUnknown,
    RateLimits,
    UpstreamUnavailable,
)
from kisweb.kissim import make_account
from tests.helpers import wait_until

from .conftest import credentials_for

DT = "/uapi/domestic-stock/v1/trading"
OT = "/uapi/overseas-stock/v1/trading"
ORDER_PATHS = (f"{DT}/order-cash", f"{DT}/order-rvsecncl", f"{OT}/order")


class FaultProxy:
    """Forwards HTTP requests to the simulator. ``rewrite(path, status, body)`` may replace
    an answer; ``swallow`` closes the connection on the next N order requests without
    forwarding them; ``close_idle()`` closes every client connection (what a server does
    to kept-alive connections it no longer wants)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.rewrite: Callable[[str, int, bytes], tuple[int, bytes] | None] | None = None
        self.swallow = 0
        self.forwarded: list[str] = []  # order paths that reached the simulator
        self.received: list[str] = []  # order paths that reached the proxy
        self._transports: set[asyncio.Transport] = set()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        if self._session:
            await self._session.close()
        if self._runner:
            await self._runner.cleanup()

    def close_idle(self) -> None:
        for transport in list(self._transports):
            transport.close()
        self._transports.clear()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.transport is not None:
            self._transports.add(request.transport)
        path = request.path
        raw = await request.read()
        if path in ORDER_PATHS:
            self.received.append(path)
            if self.swallow > 0:
                self.swallow -= 1
                request.transport.close()
                return web.Response(status=204)
            self.forwarded.append(path)
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in ("host", "content-length", "connection")
        }
        assert self._session is not None
        async with self._session.request(
            request.method,
            self.upstream + request.path_qs,
            data=raw,
            headers=headers,
        ) as answer:
            status, body = answer.status, await answer.read()
            out_headers = {
                k: v
                for k, v in answer.headers.items()
                if k.lower() in ("tr_id", "tr_cont", "gt_uid")
            }
        if self.rewrite is not None:
            changed = self.rewrite(path, status, body)
            if changed is not None:
                status, body = changed
        return web.Response(
            status=status, body=body, headers=out_headers, content_type="application/json"
        )


@pytest.fixture
async def proxy(sim):
    fault_proxy = FaultProxy(sim.paper_url)
    await fault_proxy.start()
    yield fault_proxy
    await fault_proxy.stop()


def client_for(account, url: str, **options) -> KisClient:
    return KisClient(
        credentials_for(account),
        url,
        token_store=MemoryTokenStore(),
        limiter=InProcessRateLimiter(RateLimits(real_per_s=500, paper_per_s=500)),
        backoff_base_s=0.01,
        backoff_max_s=0.05,
        **options,
    )


# An entry point takes the client and an ack of a resting buy (for revise/cancel).
ENTRY_POINTS = {
    "buy_limit": lambda kis, ack: kis.buy("005930", 1, Decimal(60000)),
    "buy_market": lambda kis, ack: kis.buy("005930", 1, order_type=OrderType.MARKET),
    "sell_limit": lambda kis, ack: kis.sell("005930", 1, Decimal(90000)),
    "sell_market": lambda kis, ack: kis.sell("005930", 1, order_type=OrderType.MARKET),
    "revise": lambda kis, ack: kis.revise(ack.order_no, ack.branch_no, price=Decimal(61000)),
    "cancel": lambda kis, ack: kis.cancel(ack.order_no, ack.branch_no),
    "us_buy": lambda kis, ack: kis.us_buy("AAPL", 1, Decimal(1)),
    "us_sell": lambda kis, ack: kis.us_sell("AAPL", 1, Decimal(9999)),
}
NEW_ORDERS = ("buy_limit", "buy_market", "sell_limit", "sell_market", "us_buy", "us_sell")


def new_account(sim):
    return sim.add_account(
        make_account("paper", cash_usd=10_000, holdings={"005930": 10, "AAPL": 10})
    )


async def resting_buy(kis):
    """A buy far below the market, so it rests and can be revised or cancelled."""
    return await kis.buy("005930", 2, Decimal(50000))


async def prepare(sim, url, entry, **options):
    account = new_account(sim)
    kis = client_for(account, url, **options)
    await kis.ensure_token()
    ack = await resting_buy(kis) if entry in ("revise", "cancel") else None
    return account, kis, ack, sim.stats.orders_received(account.appkey)


def order_requests(sim, account) -> int:
    return len([r for r in sim.stats.requests(appkey=account.appkey) if r.path in ORDER_PATHS])


async def test_a_lost_answer_is_outcome_unknown_and_the_order_reached_kis_once(sim):
    for entry in NEW_ORDERS:  # the fault applies to new orders only (kissim)
        account, kis, ack, before = await prepare(sim, sim.paper_url, entry)
        try:
            sim.faults.lose_order_answers = 1
            with pytest.raises(OutcomeUnknown):
                await ENTRY_POINTS[entry](kis, ack)
        finally:
            await kis.aclose()
        assert sim.stats.orders_received(account.appkey) == before + 1, entry


async def test_a_hung_order_is_outcome_unknown_and_sent_once(sim, proxy):
    for entry in ENTRY_POINTS:
        account, kis, ack, before = await prepare(sim, proxy.url, entry, timeout_s=0.15)
        try:
            sent = len(proxy.received)
            sim.faults.hang = True
            with pytest.raises(OutcomeUnknown):
                await ENTRY_POINTS[entry](kis, ack)
            sim.faults.hang = False
            sim.faults.drop_sockets()
            await wait_until(lambda: not sim.api.inflight, "the hung request to end")
        finally:
            await kis.aclose()
        assert len(proxy.received) == sent + 1, entry
        assert sim.stats.orders_received(account.appkey) == before, entry  # hung at the gate


async def test_a_5xx_on_an_order_is_outcome_unknown_and_sent_once(sim):
    for entry in ENTRY_POINTS:
        account, kis, ack, before = await prepare(sim, sim.paper_url, entry)
        sent = order_requests(sim, account)
        try:
            sim.faults.http_500 = True
            with pytest.raises(OutcomeUnknown):
                await ENTRY_POINTS[entry](kis, ack)
        finally:
            sim.faults.http_500 = False
            await kis.aclose()
        assert order_requests(sim, account) == sent + 1, entry
        assert sim.stats.orders_received(account.appkey) == before, entry


async def test_sockets_dropped_mid_order_is_outcome_unknown_and_sent_once(sim, proxy):
    for entry in ENTRY_POINTS:
        account, kis, ack, before = await prepare(sim, proxy.url, entry)
        try:
            sent = len(proxy.received)
            sim.faults.hang = True
            order = asyncio.create_task(ENTRY_POINTS[entry](kis, ack))
            await wait_until(lambda: sim.api.inflight, "the order to hang in the simulator")
            sim.faults.hang = False
            sim.faults.drop_sockets()  # the simulator cuts the proxy's upstream request
            proxy.close_idle()  # and the proxy cuts ours, as a dying gateway would
            with pytest.raises(OutcomeUnknown):
                await order
        finally:
            await kis.aclose()
        assert len(proxy.received) == sent + 1, entry
        assert sim.stats.orders_received(account.appkey) == before, entry


async def test_a_connection_closed_as_the_order_arrives_is_outcome_unknown_not_resent(sim, proxy):
    """The server closed the kept-alive connection just as the order went out: httpx
    raises RemoteProtocolError. The client cannot know whether the order was read, so
    it must not resend it (and says OutcomeUnknown)."""
    for entry in ENTRY_POINTS:
        account, kis, ack, before = await prepare(sim, proxy.url, entry)
        try:
            sent = len(proxy.received)
            proxy.swallow = 1
            with pytest.raises(OutcomeUnknown):
                await ENTRY_POINTS[entry](kis, ack)
        finally:
            await kis.aclose()
        assert len(proxy.received) == sent + 1, entry  # sent once, never resent
        assert sim.stats.orders_received(account.appkey) == before, entry


async def test_an_idle_connection_closed_between_two_orders_does_not_fail_the_second(sim, proxy):
    for entry in NEW_ORDERS:
        account, kis, ack, before = await prepare(sim, proxy.url, entry)
        try:
            await ENTRY_POINTS[entry](kis, ack)
            proxy.close_idle()
            await asyncio.sleep(0.05)  # the FIN reaches the client's idle pooled connection
            await ENTRY_POINTS[entry](kis, ack)
        finally:
            await kis.aclose()
        assert sim.stats.orders_received(account.appkey) == before + 2, entry


def _not_json(path, status, body):
    return (200, b"<html>gateway</html>") if path in ORDER_PATHS else None


def _html_502(path, status, body):
    return (502, b"<html>Bad Gateway</html>") if path in ORDER_PATHS else None


def _not_an_envelope(path, status, body):
    return (200, b'{"hello": "world"}') if path in ORDER_PATHS else None


def _a_json_list(path, status, body):
    return (200, b"[]") if path in ORDER_PATHS else None


def _accepted_without_output(path, status, body):
    """rt_cd "0" (KIS took the order) but the output block is missing."""
    if path not in ORDER_PATHS:
        return None
    answer = json.loads(body)
    answer.pop("output", None)
    return 200, json.dumps(answer).encode()


def _accepted_with_a_bad_time(path, status, body):
    if path not in ORDER_PATHS:
        return None
    answer = json.loads(body)
    answer["output"]["ORD_TMD"] = "25:99"
    return 200, json.dumps(answer).encode()


MANGLED = {
    "not_json": _not_json,
    "html_502": _html_502,
    "not_an_envelope": _not_an_envelope,
    "a_json_list": _a_json_list,
    "accepted_without_output": _accepted_without_output,
    "accepted_with_a_bad_time": _accepted_with_a_bad_time,
}


async def test_a_mangled_order_answer_is_outcome_unknown_and_not_resent(sim, proxy):
    """Every mangling on one order; the two that follow an accepted order (rt_cd "0"
    with an unreadable rest) on every entry point."""
    cases = [("buy_limit", mangle) for mangle in MANGLED] + [
        (entry, mangle)
        for entry in ENTRY_POINTS
        if entry != "buy_limit"
        for mangle in ("accepted_without_output", "accepted_with_a_bad_time")
    ]
    for entry, mangle in cases:
        account, kis, ack, before = await prepare(sim, proxy.url, entry)
        try:
            sent = len(proxy.received)
            proxy.rewrite = MANGLED[mangle]
            with pytest.raises(OutcomeUnknown):
                await ENTRY_POINTS[entry](kis, ack)
        finally:
            proxy.rewrite = None
            await kis.aclose()
        assert len(proxy.received) == sent + 1, (entry, mangle)
        # it did reach the engine
        assert sim.stats.orders_received(account.appkey) == before + 1, (entry, mangle)


async def test_a_read_through_a_connection_closed_on_arrival_is_retried(sim, proxy):
    """Reads may be repeated: the same fault on a read is retried and served."""
    account = new_account(sim)
    kis = client_for(account, proxy.url)
    try:
        await kis.ensure_token()
        sim.faults.http_500 = True
        with pytest.raises(UpstreamUnavailable):
            await kis.quote("005930")
        sim.faults.http_500 = False
        assert (await kis.quote("005930")).symbol == "005930"
    finally:
        await kis.aclose()
