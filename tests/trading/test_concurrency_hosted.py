"""Two clients post the same ticket at the same moment: one order, one send. Run on
PostgreSQL (``make test``'s hosted pass), where the two inserts really race on the unique
key; SQLite's in-memory test database refuses concurrent writers outright."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connections

from trading import actions
from trading.models import Order

from .conftest import orders_at_sim, ticket

pytestmark = pytest.mark.hosted


@pytest.mark.django_db(transaction=True)
def test_same_key_from_two_concurrent_clients_sends_once(sim, alice, credential):
    sim.market.set_price("005930", 71000)
    same = ticket(price=Decimal(70000), quantity=1)
    start = threading.Barrier(2)
    results: list[actions.Placed] = []
    errors: list[BaseException] = []

    def post():
        try:
            start.wait(timeout=5)
            results.append(actions.place_order(alice, credential, same))
        except BaseException as error:  # reported below, not swallowed
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(placed.created for placed in results) == [False, True]
    assert len({placed.order.pk for placed in results}) == 1
    assert Order.objects.count() == 1
    assert orders_at_sim(sim, credential) == 1
