"""KIS's "조회이후에 자료가 변경" (SYDB0050) in the middle of paging, from the simulator's
``data_changed`` fault: the list is read again from its first page (bounded), rows are
deduped, and a list that kept changing is labelled partial — and never taken as proof
that an order was not received."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from kisweb.kis import RateLimits, shared_rate_limiter
from kisweb.kissim.rest.tr import PAGE_SIZES
from trading import actions
from trading.models import Order

from .conftest import orders_at_sim, ticket

pytestmark = pytest.mark.django_db

PAPER_PAGE = PAGE_SIZES["daily_ccld"]["paper"]  # 15: the paper host pages executions early
CCLD = "/uapi/domestic-stock/v1/trading/inquire-daily-ccld"


@pytest.fixture(autouse=True)
def unthrottled(simulator):
    """Paging needs more than one page of orders; at paper's 2 calls/s that is slow, and
    rate limits are not what these tests are about (both sides lifted, then restored)."""
    limiter = shared_rate_limiter()
    kept_client, kept_sim = limiter.limits, dict(simulator.sim.api.rate_limits)
    limiter.limits = RateLimits(real_per_s=1000, paper_per_s=1000)
    simulator.sim.api.rate_limits.update(real=1000, paper=1000)
    yield
    limiter.limits = kept_client
    simulator.sim.api.rate_limits.update(kept_sim)


def place_many(sim, alice, credential, count: int) -> list[Order]:
    """``count`` resting buys (below the market), oldest first: more than one page."""
    orders = [
        actions.place_order(
            alice, credential, ticket(price=Decimal(60000 + 100 * n), quantity=1)
        ).order
        for n in range(count)
    ]
    assert orders_at_sim(sim, credential) == count
    return orders


def changed_answers(sim, credential) -> int:
    return sum(r.msg_cd == "SYDB0050" for r in sim.stats.requests(credential.app_key, CCLD))


def test_the_simulator_refuses_a_continuation_with_sydb0050(sim, alice, credential):
    place_many(sim, alice, credential, PAPER_PAGE + 1)
    sim.faults.data_changed = 1
    from trading.actions import read_kis

    async def read(client):
        return await client.daily_executions(dt.date.today(), dt.date.today())

    executions = read_kis(credential, read)
    assert changed_answers(sim, credential) == 1  # the second page was refused once
    assert sim.faults.data_changed == 0
    assert executions.complete  # ...and the read started over and reached the end
    assert len(executions.rows) == PAPER_PAGE + 1


def test_history_restarts_the_list_and_shows_every_row_once(sim, alice, credential, alice_client):
    sim.market.set_price("005930", 71000)
    orders = place_many(sim, alice, credential, PAPER_PAGE + 1)
    sim.faults.data_changed = 2
    page = alice_client.get(reverse("trading:order_list"))
    assert page.status_code == 200
    assert changed_answers(sim, credential) == 2
    executions = page.context["executions"]
    assert page.context["executions_complete"] is True
    numbers = [row.order_no for row in executions]
    assert len(numbers) == len(set(numbers)) == len(orders)
    assert "Partial list" not in page.content.decode()


def test_a_list_that_keeps_changing_is_labelled_partial(sim, alice, credential, alice_client):
    sim.market.set_price("005930", 71000)
    place_many(sim, alice, credential, PAPER_PAGE + 1)
    sim.faults.data_changed = 100
    page = alice_client.get(reverse("trading:order_list"))
    assert page.status_code == 200
    assert page.context["executions_complete"] is False
    assert len(page.context["executions"]) == PAPER_PAGE  # the first page, read 3 times
    # Bounded: the first pass and two restarts, for each of the page's two reads (the
    # reconciliation of its open orders, then the history itself).
    assert changed_answers(sim, credential) == 2 * 3
    assert "Partial list" in page.content.decode()


def test_reconcile_through_a_changed_list_settles_a_lost_order_on_page_two(sim, alice, credential):
    sim.market.set_price("005930", 71000)
    sim.faults.lose_order_answers = 1
    lost, *_ = place_many(sim, alice, credential, PAPER_PAGE + 1)  # the oldest: on page two
    assert lost.status == Order.Status.UNKNOWN
    sim.faults.data_changed = 1
    result = actions.reconcile(credential)
    lost.refresh_from_db()
    assert result.complete and result.error is None
    assert lost.status == Order.Status.ACCEPTED and lost.kis_order_no
    assert orders_at_sim(sim, credential) == PAPER_PAGE + 1  # nothing sent again


def test_a_partial_list_never_marks_an_order_not_received(sim, alice, credential):
    sim.market.set_price("005930", 71000)
    sim.faults.lose_order_answers = 1
    lost, *_ = place_many(sim, alice, credential, PAPER_PAGE + 1)
    sim.faults.data_changed = 100
    much_later = lost.created_at + dt.timedelta(minutes=10)
    result = actions.reconcile(credential, now=much_later)
    lost.refresh_from_db()
    assert result.complete is False
    # KIS's list was cut short: its silence proves nothing, so the order stays unknown.
    assert lost.status == Order.Status.UNKNOWN and lost.reject_code == ""
    sim.faults.data_changed = 0
    actions.reconcile(credential, now=much_later)
    lost.refresh_from_db()
    assert lost.status == Order.Status.ACCEPTED
    assert orders_at_sim(sim, credential) == PAPER_PAGE + 1
