"""Order sends answered 500, left hanging, or whose answer is lost (``Faults.http_500``,
``Faults.hang``, ``Faults.lose_order_answers``), through the journal against the simulator.

What the simulator does decides what is right: with ``http_500`` or ``hang`` on, the
gateway answers (or stalls) before any order handler runs, so nothing is booked; with
``lose_order_answers`` the order is booked and only the answer vanishes. kisweb cannot
tell these apart from the wire (KIS's EGW00002 gives no verdict), so each send is
``unknown``; reconciliation then finds the booked ones by their fields (``accepted`` with
KIS's number) and, once KIS's complete list has been without the others for two minutes,
makes those ``rejected`` (``NOT_RECEIVED``). Nothing is ever resent: the simulator's count
equals the journal's rows that have a KIS number.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from tests.figures import record
from tests.helpers import ticket_form
from trading.actions import NOT_RECEIVED, ORDER_TIMEOUT_S, place_order, reconcile
from trading.models import Order

from .conftest import a_ticket, journal_vs_sim

Status = Order.Status
LATER = dt.timedelta(minutes=3)  # past the stale-sender and not-received windows


def settle(credential) -> tuple[int, int]:
    """Reconcile as a page load three minutes on would: (unknown before, unknown after)."""
    before = Order.objects.filter(credential=credential, status=Status.UNKNOWN).count()
    result = reconcile(credential, now=timezone.now() + LATER)
    assert result.complete and result.error is None
    after = Order.objects.filter(credential=credential, status=Status.UNKNOWN).count()
    return before, after


def test_http_500_on_order_sends_is_unknown_then_not_received(sim, traders):
    [credential] = traders(1)
    sim.market.set_price("005930", 71000)
    sim.faults.http_500 = True
    placed = [place_order(credential.owner, credential, a_ticket()).order for _ in range(3)]
    sim.faults.http_500 = False
    assert [o.status for o in placed] == [Status.UNKNOWN] * 3
    assert all("EGW00002" in o.kis_message for o in placed)
    assert sim.stats.orders_received(credential.app_key) == 0  # the gateway answered first

    unknown_before, unknown_after = settle(credential)
    rows = list(Order.objects.filter(credential=credential))
    assert {(o.status, o.reject_code) for o in rows} == {(Status.REJECTED, NOT_RECEIVED)}
    assert journal_vs_sim(sim, [credential]) == (0, 0)
    record("faults", "HTTP 500 on orders: sent / booked at the simulator", "3 / 0")
    record(
        "faults",
        "HTTP 500 on orders: unknown before / after reconcile",
        f"{unknown_before} / {unknown_after}",
    )


def test_lost_answers_are_unknown_then_matched_to_their_own_kis_orders(sim, traders):
    [credential] = traders(1)
    sim.market.set_price("005930", 71000)
    prices = [Decimal(70000), Decimal(69900), Decimal(69800)]
    sim.faults.lose_order_answers = len(prices)
    placed = [place_order(credential.owner, credential, a_ticket(price=p)).order for p in prices]
    assert [o.status for o in placed] == [Status.UNKNOWN] * 3
    assert sim.stats.orders_received(credential.app_key) == 3  # booked, answers lost

    unknown_before, unknown_after = settle(credential)
    ledger = sim.market.ledgers[credential.app_key]
    booked = {o.price: o.odno for o in ledger.orders.values()}
    for order in Order.objects.filter(credential=credential):
        assert order.status == Status.ACCEPTED
        assert order.kis_order_no.lstrip("0") == booked[order.price].lstrip("0")
    assert journal_vs_sim(sim, [credential]) == (3, 3)
    record("faults", "lost order answers: sent / booked / journaled with a KIS number", "3 / 3 / 3")
    record(
        "faults",
        "lost order answers: unknown before / after reconcile",
        f"{unknown_before} / {unknown_after}",
    )


def test_a_hung_order_send_times_out_as_unknown_and_is_not_resent(sim, traders):
    [credential] = traders(1)
    sim.market.set_price("005930", 71000)
    sim.faults.hang = True
    started = time.monotonic()
    order = place_order(credential.owner, credential, a_ticket()).order
    waited_s = time.monotonic() - started
    sim.faults.hang = False
    sim.faults.drop_sockets()
    assert order.status == Status.UNKNOWN
    assert waited_s < ORDER_TIMEOUT_S + 5  # the client gave up; it did not wait forever

    # The next order on the same credential goes through; the hung one was never repeated.
    follow_up = place_order(credential.owner, credential, a_ticket(price=Decimal(69900))).order
    assert follow_up.status == Status.ACCEPTED
    order_requests = [
        r for r in sim.stats.requests(appkey=credential.app_key) if r.tr_id == "VTTC0012U"
    ]
    assert len(order_requests) == 1  # the hung request is never logged as answered, nor resent

    unknown_before, unknown_after = settle(credential)
    order.refresh_from_db()
    assert (order.status, order.reject_code) == (Status.REJECTED, NOT_RECEIVED)
    assert journal_vs_sim(sim, [credential]) == (1, 1)
    record("faults", "hung order send: time until unknown", round(waited_s, 2), "s")
    record(
        "faults",
        "hung order send: unknown before / after reconcile",
        f"{unknown_before} / {unknown_after}",
    )


def test_mixed_faults_on_many_sends_leave_the_journal_equal_to_the_book(sim, traders):
    """500s, lost answers and clean sends interleaved on two credentials."""
    credentials = traders(2)
    sim.market.set_price("005930", 71000)
    sent = 0
    for round_no in range(3):
        for credential in credentials:
            price = Decimal(70000) - 100 * round_no
            sim.faults.http_500 = True
            place_order(credential.owner, credential, a_ticket(price=price))
            sim.faults.http_500 = False
            sim.faults.lose_order_answers = 1
            place_order(credential.owner, credential, a_ticket(price=price - 1000))
            place_order(credential.owner, credential, a_ticket(price=price - 2000))
            sent += 3
    unknown_before = Order.objects.filter(status=Status.UNKNOWN).count()
    for credential in credentials:
        settle(credential)
    unknown_after = Order.objects.filter(status=Status.UNKNOWN).count()
    journaled, seen = journal_vs_sim(sim, credentials)
    assert Order.objects.count() == sent
    assert unknown_after == 0
    assert journaled == seen == 2 * sent // 3
    assert Order.objects.filter(reject_code=NOT_RECEIVED).count() == sent // 3
    record(
        "faults",
        "mixed order faults: sent / journaled / seen by the simulator",
        f"{sent} / {Order.objects.count()} / {seen}",
    )
    record(
        "faults",
        "mixed order faults: unknown before / after reconcile",
        f"{unknown_before} / {unknown_after}",
    )


def test_the_ticket_says_once_that_the_answer_was_lost_and_a_second_post_sends_nothing(
    sim, traders, client
):
    [credential] = traders(1)
    sim.market.set_price("005930", 71000)
    client.force_login(credential.owner)
    form = ticket_form(price="70000")
    sim.faults.lose_order_answers = 1
    first = client.post(reverse("trading:order_ticket"), form, HTTP_ACCEPT_LANGUAGE="en")
    assert first.status_code == 302
    shown = client.get(first["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert shown.count("KIS&#x27;s answer was lost") == 1
    assert "do not send it again" in shown

    again = client.post(reverse("trading:order_ticket"), form, HTTP_ACCEPT_LANGUAGE="en")
    assert again["Location"] == first["Location"]  # the same order, not a second one
    assert sim.stats.orders_received(credential.app_key) == 1
    settle(credential)
    [order] = Order.objects.filter(credential=credential)
    assert order.status == Status.ACCEPTED and order.kis_order_no
    assert journal_vs_sim(sim, [credential]) == (1, 1)
