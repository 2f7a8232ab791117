"""The order-side fault tests run against their own simulator with the random walk stopped,
so the book is what each test sets; every test leaves its switches off."""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

import pytest

from accounts.actions import verify_credential
from trading.actions import Ticket
from trading.forms import new_idempotency_key
from trading.models import Order

SOAK = bool(os.environ.get("KISWEB_SOAK"))


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
def traders(django_user_model, make_credential):
    """``traders(n)``: n users, each with one verified paper credential of their own."""

    def make(count: int) -> list:
        made = []
        for number in range(count):
            user = django_user_model.objects.create_user(f"trader{number}", password="pw-1")
            credential = make_credential(user, label=f"trader {number}")
            assert verify_credential(user, credential).ok
            credential.refresh_from_db()
            made.append(credential)
        return made

    return make


@pytest.fixture
def sim(kis_endpoints):
    return kis_endpoints


def a_ticket(**fields: object) -> Ticket:
    """One share of Samsung bid at 70,000: below the 71,000 the tests set, so it rests."""
    values: dict[str, Any] = {
        "market": "KRX",
        "venue": "KRX",
        "side": "buy",
        "order_type": "00",
        "symbol": "005930",
        "quantity": 1,
        "price": Decimal(70000),
        "idempotency_key": new_idempotency_key(),
        **fields,
    }
    return Ticket(**values)


def journal_vs_sim(sim, credentials) -> tuple[int, int]:
    """(journal rows KIS gave a number to, orders the simulator's book received)."""
    journaled = Order.objects.filter(credential__in=credentials).exclude(kis_order_no="").count()
    seen = sum(sim.stats.orders_received(c.app_key) for c in credentials)
    return journaled, seen
