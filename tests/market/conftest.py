"""Relay tests: the hub against a simulator of their own (random walk stopped: a test
moves the market with ``step``), over real sockets, on an in-memory channel layer."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async

from accounts.actions import verify_credential
from market.hub import Hub
from market.layers import FanoutInMemoryChannelLayer as InMemoryChannelLayer
from trading.actions import Ticket
from trading.forms import new_idempotency_key


@pytest.fixture(scope="session")
def simulator():
    from kisweb.kissim.testing import SimulatorThread

    with SimulatorThread(speed=0) as thread:
        yield thread


@pytest.fixture(autouse=True)
def faults_off(simulator):
    yield
    simulator.sim.faults.reset()


@pytest.fixture(autouse=True)
def market_always_open(settings):
    settings.KISWEB_MARKET_HOURS = "always"


@pytest.fixture
def layer():
    return InMemoryChannelLayer(capacity=1000)


@pytest.fixture
def step(simulator):
    """Move the simulated market one tick (trades and books on every symbol)."""

    def move() -> None:
        simulator.call(simulator.sim.market.step)

    return move


def sim_registrations(simulator, app_key: str) -> list[tuple[str, str]]:
    """What the simulator itself holds for this app key (not what the client believes)."""

    def read():
        return sorted(
            sub for s in simulator.sim.hub.sessions if s.appkey == app_key for sub in s.subs
        )

    return simulator.call(read)


def quote_registrations(simulator, app_key: str) -> list[tuple[str, str]]:
    return [r for r in sim_registrations(simulator, app_key) if "CNI" not in r[0]]


@pytest.fixture
def verified(alice, alice_credential):
    assert verify_credential(alice, alice_credential).ok
    alice_credential.refresh_from_db()
    return alice_credential


class FakeTab:
    """A consumer's side of the hub protocol on the channel layer: what a browser socket's
    consumer sends and receives, without the browser (the consumer has its own tests)."""

    def __init__(self, layer, channel: str, user: int, credential: str) -> None:
        self.layer, self.channel, self.user, self.credential = layer, channel, user, credential

    @classmethod
    async def open(cls, layer, user, credential) -> FakeTab:
        tab = cls(layer, await layer.new_channel("tab."), user.pk, str(credential.pk))
        await tab.tell("relay.renew", interests="")
        return tab

    async def tell(self, kind: str, **fields) -> None:
        await self.layer.send(
            "market.hub",
            {
                "type": kind,
                "channel": self.channel,
                "user": self.user,
                "credential": self.credential,
                **fields,
            },
        )

    async def watch(self, layer_groups, symbol: str, market: str = "KOSPI", streams=("trade",)):
        from market.hub import quote_group

        for stream in streams:
            await self.layer.group_add(quote_group(layer_groups, stream, symbol), self.channel)
        await self.tell("relay.interest", symbol=symbol, market=market, streams=",".join(streams))

    async def unwatch(self, symbol: str, market: str = "KOSPI", streams=("trade",)):
        await self.tell("relay.release", symbol=symbol, market=market, streams=",".join(streams))

    async def next(self, kind_: str, timeout: float = 5.0, **match):
        """The next message of this type (and fields), skipping others."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"no {kind_} {match} within {timeout} s")
            try:
                message = await asyncio.wait_for(self.layer.receive(self.channel), left)
            except TimeoutError:
                raise AssertionError(f"no {kind_} {match} within {timeout} s") from None
            if message.get("type") == kind_ and all(message.get(k) == v for k, v in match.items()):
                return message


@pytest.fixture
async def run_hub(layer):
    """``hub = await run_hub(grace_s=...)``: a Hub on this loop, closed after the test."""
    hubs = []

    async def start(**options) -> Hub:
        options.setdefault("grace_s", 30)
        options.setdefault("orders_scan_s", 3600)
        hub = Hub(layer, **options)
        hubs.append(asyncio.create_task(hub.run()))
        hub_tasks.append(hub)
        return hub

    hub_tasks: list[Hub] = []
    yield start
    for task in hubs:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def db(fn, *args, **kwargs):
    return await sync_to_async(fn)(*args, **kwargs)


PRICE = Decimal(71000)


def ticket(**fields) -> Ticket:
    values = {
        "market": "KRX",
        "venue": "KRX",
        "side": "buy",
        "order_type": "00",
        "symbol": "005930",
        "quantity": 10,
        "price": Decimal(70000),
        "idempotency_key": new_idempotency_key(),
        "symbol_name": "삼성전자",
        **fields,
    }
    return Ticket(**values)
