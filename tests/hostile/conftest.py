"""The world the hostile-input tests post into: alice, verified on a still simulator, with
one of each thing a form can change (watchlists and items, a resting order, her own rates),
and bob beside her with things of his own that nothing alice sends may touch."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from accounts.actions import verify_credential
from accounts.models import Credential
from market.models import Symbol, Watchlist, WatchlistItem
from market.symbols import load_bundled
from market.watchlists import add_symbol, create_watchlist
from trading import actions
from trading.actions import Ticket
from trading.forms import new_idempotency_key
from trading.models import FeeSettings, Order


@pytest.fixture(scope="session")
def simulator():
    """Prices stay where a test puts them (the random walk is stopped), so a resting
    order stays open until a form cancels it."""
    from kisweb.kissim.testing import SimulatorThread

    with SimulatorThread(speed=0) as thread:
        yield thread


@pytest.fixture(autouse=True)
def market_always_open(settings):
    settings.KISWEB_MARKET_HOURS = "always"


@pytest.fixture(autouse=True)
def faults_off(simulator):
    yield
    simulator.sim.faults.reset()


@dataclass(frozen=True)
class World:
    alice: User
    bob: User
    credential: Credential
    bob_credential: Credential
    watchlist: Watchlist
    other_watchlist: Watchlist
    item: WatchlistItem
    order: Order
    bobs_watchlist: Watchlist

    def with_resting_order(self, sim) -> World:
        """The same world, its order a real one resting on the simulator's book (below
        the market), so that a cancel or a revision really goes out."""
        sim.market.set_price("005930", 71000)
        resting = Ticket(
            market="KRX",
            venue="KRX",
            side="buy",
            order_type="00",
            symbol="005930",
            quantity=1,
            price=Decimal(65000),
            idempotency_key=new_idempotency_key(),
        )
        order = actions.place_order(self.alice, self.credential, resting).order
        assert order.status == Order.Status.ACCEPTED and order.is_open
        return replace(self, order=order)


def _verified(owner: User, credential: Credential) -> Credential:
    assert verify_credential(owner, credential).ok
    credential.refresh_from_db()
    return credential


@pytest.fixture
def world(kis_endpoints, alice, alice_credential, bob, bob_credential) -> World:
    load_bundled()
    credential = _verified(alice, alice_credential)
    bob_credential = _verified(bob, bob_credential)
    samsung = Symbol.objects.get(code="005930", market="KOSPI")
    hynix = Symbol.objects.get(code="000660", market="KOSPI")
    watchlist = create_watchlist(alice, "관심 1")
    item = add_symbol(watchlist, samsung)
    add_symbol(watchlist, hynix)
    other = create_watchlist(alice, "관심 2")
    bobs = create_watchlist(bob, "bob's list")
    add_symbol(bobs, samsung)
    FeeSettings.objects.create(credential=credential)
    # Done with: in the journal, so the credential is in use, and nothing to reconcile (a
    # page that finds an open order asks KIS about it, which no input has anything to do with).
    filled = Order.objects.create(
        client_order_id="HOSTILE00001",
        idempotency_key=new_idempotency_key(),
        owner=alice,
        credential=credential,
        environment=credential.environment,
        market=Order.Market.KRX,
        side=Order.Side.BUY,
        order_type="00",
        symbol="005930",
        price=Decimal(65000),
        quantity=1,
        status=Order.Status.FILLED,
        filled_quantity=1,
        kis_order_no="0000054321",
        kis_branch_no="06010",
    )
    return World(alice, bob, credential, bob_credential, watchlist, other, item, filled, bobs)
