"""Ops tests run against their own simulator with the random walk stopped (as trading's do),
so an order placed here fills or rests exactly as the test sets it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.actions import verify_credential
from trading import actions
from trading.forms import new_idempotency_key


@pytest.fixture(scope="session")
def simulator():
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


@pytest.fixture
def sim(kis_endpoints):
    return kis_endpoints


@pytest.fixture
def credential(alice_credential, alice):
    assert verify_credential(alice, alice_credential).ok
    alice_credential.refresh_from_db()
    return alice_credential


def place(user, credential, **fields):
    values = {
        "market": "KRX",
        "venue": "KRX",
        "side": "buy",
        "order_type": "00",
        "symbol": "005930",
        "quantity": 1,
        "price": Decimal(71000),
        "idempotency_key": new_idempotency_key(),
        **fields,
    }
    return actions.place_order(user, credential, actions.Ticket(**values)).order


def lost_order(sim, user, credential):
    """An order KIS took whose answer was lost: `unknown` in the journal, one at KIS."""
    sim.market.set_price("005930", 71000)
    sim.faults.lose_order_answers = 1
    order = place(user, credential, price=Decimal(71100), quantity=2)
    assert order.status == "unknown"
    assert sim.stats.orders_received(credential.app_key) == 1
    return order
