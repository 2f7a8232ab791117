"""Trading tests run against their own simulator with the random walk stopped, so prices,
books and fills are exactly what each test sets (``sim.market.set_price``/``set_liquidity``).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.actions import verify_credential
from trading.actions import Ticket
from trading.forms import new_idempotency_key


@pytest.fixture(scope="session")
def simulator():
    from kisweb.kissim.testing import SimulatorThread

    with SimulatorThread(speed=0) as thread:
        yield thread


@pytest.fixture(autouse=True)
def market_always_open(settings):
    """The simulator's clock is always open; session rules have their own tests."""
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
    """Alice's paper credential, verified with KIS (the simulator)."""
    assert verify_credential(alice, alice_credential).ok
    alice_credential.refresh_from_db()
    return alice_credential


@pytest.fixture
def bob_verified(bob, bob_credential):
    assert verify_credential(bob, bob_credential).ok
    bob_credential.refresh_from_db()
    return bob_credential


@pytest.fixture
def alice_client(client, alice):
    """Signed in as Alice, reading English (the Korean texts have their own test)."""
    client.force_login(alice)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def ticket(**fields) -> Ticket:
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
    return Ticket(**values)


def orders_at_sim(sim, credential) -> int:
    return sim.stats.orders_received(credential.app_key)
