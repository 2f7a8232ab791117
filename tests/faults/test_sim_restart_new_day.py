"""The simulator restarted overnight, into a new trading day: a fresh simulator process on
the same ports over the same exchange (``Simulator(market=...)``: KIS's book and order
history outlive its gateway; tokens, rate windows and sessions do not).

The rule for orders of a previous day: reconciliation asks KIS's daily executions from the
oldest unsettled order's own KST date to today, so yesterday's orders are matched in
yesterday's rows (by KIS number, or by their fields for an ``unknown`` one), never judged
by today's list alone. A day order still open when its session ended has lapsed, and KIS
lists it with nothing remaining: the journal shows it ``cancelled``, which is what KIS says.
Nothing from yesterday becomes ``NOT_RECEIVED``, and nothing is sent again.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone

from accounts.models import KisToken
from kisweb.kis import Side
from kisweb.kis.realtime import ExecutionNotice
from kisweb.kis.realtime.events import NoticeAction
from kisweb.kissim.clock import Clock, kst_now
from kisweb.kissim.testing import SimulatorThread
from tests.figures import record
from trading.actions import place_order, read_kis, reconcile
from trading.models import Order
from trading.notices import apply_notice

from .conftest import a_ticket

Status = Order.Status


class Restartable:
    """The test's simulator: one process (thread) at a time over one exchange, whose clock
    starts a day behind this host's and moves to today when the simulator restarts."""

    def __init__(self) -> None:
        self.days_behind = 1
        clock = Clock("always", now=lambda: kst_now() - dt.timedelta(days=self.days_behind))
        self.thread = SimulatorThread(speed=0, clock=clock).start()
        self.first = self.thread.sim

    @property
    def sim(self):
        return self.thread.sim

    def restart_next_day(self) -> None:
        old = self.thread
        old.stop()
        self.days_behind = 0
        self.thread = SimulatorThread(
            accounts=[],
            speed=0,
            real_port=old.real_port,
            paper_port=old.paper_port,
            market=old.sim.market,
        ).start()

    def restart_afresh(self) -> None:
        """A new simulator process with nothing of the old one: an empty book, numbers
        from 1, today's clock."""
        old = self.thread
        old.stop()
        self.days_behind = 0
        self.thread = SimulatorThread(
            accounts=[], speed=0, real_port=old.real_port, paper_port=old.paper_port
        ).start()

    def stop(self) -> None:
        self.thread.stop()


@pytest.fixture
def simulator():
    restartable = Restartable()
    yield restartable
    restartable.stop()


def test_a_restart_into_a_new_day_reissues_tokens_and_settles_yesterdays_orders(simulator, traders):
    [credential] = traders(1)
    key = credential.app_key
    sim = simulator.sim
    sim.market.set_price("005930", 71000)
    resting = place_order(credential.owner, credential, a_ticket()).order
    crossing = place_order(credential.owner, credential, a_ticket(price=Decimal(72000))).order
    sim.faults.lose_order_answers = 1
    lost = place_order(credential.owner, credential, a_ticket(price=Decimal(69900))).order
    assert [resting.status, crossing.status, lost.status] == ["accepted", "accepted", "unknown"]
    # The journal rows were written yesterday, by the simulator's clock; so was the token.
    Order.objects.update(created_at=F("created_at") - dt.timedelta(days=1))
    KisToken.objects.filter(credential=credential).update(
        issued_at=F("issued_at") - dt.timedelta(hours=2)
    )

    simulator.restart_next_day()
    again = simulator.sim
    assert again is not simulator.first and again.paper_url == simulator.first.paper_url
    started = time.monotonic()
    quote = read_kis(credential, lambda kis: kis.quote("005930"))
    recovered_s = time.monotonic() - started
    assert quote.price == quote.open == 71100  # yesterday's last trade opens the new day
    assert again.stats.token_issues(key) == 1  # the old token was refused once, renewed once

    unknown_before = Order.objects.filter(status=Status.UNKNOWN).count()
    result = reconcile(credential, now=timezone.now() + dt.timedelta(minutes=3))
    assert result.complete and result.error is None
    for order in (resting, crossing, lost):
        order.refresh_from_db()
    assert resting.status == Status.CANCELLED  # lapsed with yesterday's session
    assert crossing.status == Status.FILLED and crossing.filled_quantity == 1
    assert lost.status == Status.CANCELLED and lost.kis_order_no  # found in yesterday's rows
    assert not Order.objects.filter(reject_code="NOT_RECEIVED").exists()

    today = place_order(credential.owner, credential, a_ticket()).order
    assert today.status == Status.ACCEPTED
    reconcile(credential, now=timezone.now() + dt.timedelta(minutes=3))
    today.refresh_from_db()
    assert today.status == Status.ACCEPTED
    seen = simulator.first.stats.orders_received(key) + again.stats.orders_received(key)
    numbered = [o.kis_order_no.lstrip("0") for o in Order.objects.exclude(kis_order_no="")]
    assert len(numbered) == len(set(numbered)) == seen == 4
    record("faults", "simulator restarted into a new day: tokens issued after the restart", 1)
    record(
        "faults",
        "simulator restarted into a new day: time for the first read",
        round(recovered_s, 3),
        "s",
    )
    record(
        "faults",
        "simulator restarted into a new day: orders journaled vs seen by the simulator",
        f"{len(numbered)} / {seen}",
    )
    record(
        "faults",
        "simulator restarted into a new day: unknown before / after reconcile",
        f"{unknown_before} / 0",
    )


def test_a_fresh_simulator_numbering_from_one_again_does_not_mix_up_two_days_orders(
    simulator, traders
):
    """A simulator process started afresh (its book empty, its order numbers from 1 again,
    as KIS's may restart each day) next to a journal holding yesterday's order number 1:
    today's order number 1 is today's, and yesterday's row is neither filled by it nor lost."""
    [credential] = traders(1)
    key = credential.app_key
    first = simulator.sim
    first.market.set_price("005930", 71000)
    yesterday = place_order(credential.owner, credential, a_ticket()).order
    assert yesterday.status == Status.ACCEPTED
    Order.objects.update(created_at=F("created_at") - dt.timedelta(days=1))
    KisToken.objects.filter(credential=credential).update(
        issued_at=F("issued_at") - dt.timedelta(hours=2)
    )

    simulator.restart_afresh()
    again = simulator.sim
    again.add_account(first.market.ledgers[key].account)
    again.market.set_price("005930", 71000)
    again.faults.lose_order_answers = 1
    today = place_order(credential.owner, credential, a_ticket(price=Decimal(72000))).order
    assert today.status == Status.UNKNOWN
    [booked] = again.market.ledgers[key].orders.values()
    assert booked.odno.lstrip("0") == yesterday.kis_order_no.lstrip("0")  # the same number

    result = reconcile(credential, now=timezone.now() + dt.timedelta(minutes=3))
    assert result.complete and result.error is None
    yesterday.refresh_from_db()
    today.refresh_from_db()
    assert (today.status, today.filled_quantity) == (Status.FILLED, 1)
    assert today.kis_order_no.lstrip("0") == booked.odno.lstrip("0")
    assert yesterday.status == Status.ACCEPTED and yesterday.filled_quantity == 0
    record(
        "faults",
        "fresh simulator numbering from 1: yesterday's and today's order number 1 kept apart",
        "2 / 2",
    )


def test_a_notice_for_todays_number_one_does_not_fill_yesterdays_number_one(simulator, traders):
    """Execution notices are today's: with today's order still waiting for its answer, a
    fill notice naming number 1 must not land on yesterday's order number 1."""
    [credential] = traders(1)
    key = credential.app_key
    first = simulator.sim
    first.market.set_price("005930", 71000)
    yesterday = place_order(credential.owner, credential, a_ticket()).order
    Order.objects.update(created_at=F("created_at") - dt.timedelta(days=1))
    KisToken.objects.filter(credential=credential).update(
        issued_at=F("issued_at") - dt.timedelta(hours=2)
    )
    simulator.restart_afresh()
    again = simulator.sim
    again.add_account(first.market.ledgers[key].account)
    again.market.set_price("005930", 71000)
    again.faults.lose_order_answers = 1
    today = place_order(credential.owner, credential, a_ticket(price=Decimal(72000))).order
    [booked] = again.market.ledgers[key].orders.values()
    assert booked.odno.lstrip("0") == yesterday.kis_order_no.lstrip("0")

    notice = ExecutionNotice(
        tr_id="H0STCNI9",
        hts_id=first.market.ledgers[key].account.hts_id,
        account_no="",
        order_no=booked.odno,
        original_order_no="",
        branch_no=booked.orgno,
        side=Side.BUY,
        action=NoticeAction.ORDER,
        symbol="005930",
        symbol_name="삼성전자",
        is_fill=True,
        rejected=False,
        quantity=1,
        price=booked.avg_price,
        order_quantity=1,
        order_price=booked.price,
        time=None,
    )
    applied = apply_notice(str(credential.pk), notice)
    assert applied.order_id is None and not applied.changed
    yesterday.refresh_from_db()
    assert (yesterday.status, yesterday.filled_quantity) == (Status.ACCEPTED, 0)

    reconcile(credential, now=timezone.now() + dt.timedelta(minutes=3))
    today.refresh_from_db()
    assert (today.status, today.filled_quantity) == (Status.FILLED, 1)
