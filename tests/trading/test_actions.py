"""The journal against the simulator over real sockets: every order is committed before
it is sent, sent once, and settled by KIS's answer or by reconciliation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.models import AuditEvent
from trading import actions
from trading.forms import new_idempotency_key
from trading.models import Order

from .conftest import orders_at_sim, ticket

pytestmark = pytest.mark.django_db

Status = Order.Status


def place(user, credential, **fields) -> Order:
    return actions.place_order(user, credential, ticket(**fields)).order


def test_buy_that_crosses_the_book_is_accepted_then_reconciled_filled(sim, alice, credential):
    sim.market.set_price("005930", 71000)
    order = place(alice, credential, price=Decimal(71100), quantity=3)
    assert order.status == Status.ACCEPTED
    assert len(order.kis_order_no) == 10 and order.kis_branch_no == "00950"
    assert orders_at_sim(sim, credential) == 1

    result = actions.reconcile(credential)

    order.refresh_from_db()
    assert result.complete is True
    assert order.status == Status.FILLED
    assert order.filled_quantity == 3
    assert order.average_fill_price == Decimal(71100)
    actions_logged = list(
        AuditEvent.objects.filter(target_id=str(order.pk)).values_list("action", flat=True)
    )
    assert sorted(actions_logged) == [
        "trading.order_accepted",
        "trading.order_reconciled",
        "trading.order_submitted",
    ]


def test_sell_of_held_shares_fills(sim, alice, credential):
    sim.market.set_price("000660", 198000)
    place(alice, credential, symbol="000660", price=Decimal(198500), quantity=2)
    sim.market.set_price("000660", 198000)
    sell = place(alice, credential, symbol="000660", side="sell", price=Decimal(198000), quantity=2)
    assert sell.status == Status.ACCEPTED
    actions.reconcile(credential)
    sell.refresh_from_db()
    assert sell.status == Status.FILLED
    assert sell.filled_quantity == 2


def test_rejection_keeps_kis_code_and_text(sim, alice, credential):
    sim.market.set_price("005930", 71000)
    order = place(alice, credential, price=Decimal(71000), quantity=100_000)
    assert order.status == Status.REJECTED
    assert order.reject_code == "40250000"
    assert order.reject_text == "모의투자 주문가능금액을 초과 했습니다"
    assert orders_at_sim(sim, credential) == 1


def test_partial_fill_then_cancel_of_the_rest(sim, alice, credential):
    sim.market.set_liquidity("035720", 4)
    sim.market.set_price("035720", 41250)
    order = place(alice, credential, symbol="035720", price=Decimal(41300), quantity=10)
    actions.reconcile(credential)
    order.refresh_from_db()
    assert order.status == Status.PARTIALLY_FILLED
    assert order.filled_quantity == 4
    assert order.is_open

    cancel = actions.cancel_order(alice, order, idempotency_key=new_idempotency_key()).order
    assert cancel.kind == Order.Kind.CANCEL
    assert cancel.status == Status.ACCEPTED
    assert cancel.quantity == 6
    actions.reconcile(credential)
    order.refresh_from_db()
    assert order.status == Status.CANCELLED
    assert order.filled_quantity == 4
    sim.market.set_liquidity("035720", None)


def test_revise_moves_the_rest_to_a_new_price_and_it_fills(sim, alice, credential):
    sim.market.set_price("105560", 82600)
    order = place(alice, credential, symbol="105560", price=Decimal(80000), quantity=5)
    assert order.status == Status.ACCEPTED
    revise = actions.revise_order(
        alice, order, price=Decimal(82700), idempotency_key=new_idempotency_key()
    ).order
    assert revise.status == Status.ACCEPTED
    assert revise.original_id == order.pk and revise.kis_order_no != order.kis_order_no
    actions.reconcile(credential)
    order.refresh_from_db()
    revise.refresh_from_db()
    assert order.status == Status.CANCELLED  # its quantity moved to the revision
    assert revise.status == Status.FILLED and revise.filled_quantity == 5


def test_us_limit_order(sim, alice, credential):
    with sim.market.lock:
        sim.market.ledgers[credential.app_key].cash["USD"] = Decimal(10_000)
    sim.market.set_price("AAPL", "189.84")
    order = place(
        alice,
        credential,
        market="US",
        venue="NASD",
        symbol="AAPL",
        price=Decimal("190.00"),
        quantity=2,
    )
    assert order.status == Status.ACCEPTED
    actions.reconcile(credential)
    order.refresh_from_db()
    assert order.status == Status.FILLED
    assert order.filled_quantity == 2


def test_same_key_twice_sends_once(sim, alice, credential):
    sim.market.set_price("005930", 71000)
    same = ticket(price=Decimal(70000), quantity=1)
    first = actions.place_order(alice, credential, same)
    second = actions.place_order(alice, credential, same)
    assert first.created is True and second.created is False
    assert second.order.pk == first.order.pk
    assert Order.objects.count() == 1
    assert orders_at_sim(sim, credential) == 1


def test_lost_answer_is_unknown_then_reconciled_without_a_second_send(sim, alice, credential):
    sim.market.set_price("005930", 71000)
    sim.faults.lose_order_answers = 1
    order = place(alice, credential, price=Decimal(71100), quantity=2)
    assert order.status == Status.UNKNOWN
    assert order.kis_order_no == ""
    assert orders_at_sim(sim, credential) == 1

    result = actions.reconcile(credential)

    order.refresh_from_db()
    assert [changed.pk for changed in result.changed] == [order.pk]
    assert order.status == Status.FILLED
    assert len(order.kis_order_no) == 10
    assert orders_at_sim(sim, credential) == 1


def test_two_identical_lost_orders_each_claim_their_own_kis_order(sim, alice, credential):
    sim.market.set_price("005930", 71000)
    sim.faults.lose_order_answers = 2
    first = place(alice, credential, price=Decimal(69000), quantity=1)
    second = place(alice, credential, price=Decimal(69000), quantity=1)
    assert first.status == second.status == Status.UNKNOWN
    actions.reconcile(credential)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == Status.ACCEPTED
    assert first.kis_order_no and second.kis_order_no
    assert first.kis_order_no != second.kis_order_no
    assert orders_at_sim(sim, credential) == 2


def test_stale_pending_send_that_never_reached_kis_is_marked_not_received(sim, alice, credential):
    """A process killed between the journal write and the send leaves ``pending_send``."""
    order = Order.objects.create(
        client_order_id=actions.new_client_order_id(),
        idempotency_key=new_idempotency_key(),
        owner=alice,
        credential=credential,
        environment=credential.environment,
        market="KRX",
        side="buy",
        order_type="00",
        symbol="005930",
        price=Decimal(70000),
        quantity=1,
    )
    fresh = actions.reconcile(credential)
    assert fresh.checked == 0  # a live sender may still be waiting for its answer

    later = order.created_at + actions.NOT_RECEIVED_AFTER + actions.PENDING_STALE_AFTER
    actions.reconcile(credential, now=later)
    order.refresh_from_db()
    assert order.status == Status.REJECTED
    assert order.reject_code == actions.NOT_RECEIVED
    assert orders_at_sim(sim, credential) == 0


def test_stale_pending_send_that_reached_kis_is_matched(sim, alice, credential):
    """Killed just after the send: KIS has the order, the journal still says pending."""
    sim.market.set_price("005930", 71000)
    sim.faults.lose_order_answers = 1
    order = place(alice, credential, price=Decimal(68000), quantity=1)
    Order.objects.filter(pk=order.pk).update(status=Status.PENDING_SEND)
    later = order.created_at + actions.PENDING_STALE_AFTER * 2
    actions.reconcile(credential, now=later)
    order.refresh_from_db()
    assert order.status == Status.ACCEPTED
    assert order.kis_order_no
    assert orders_at_sim(sim, credential) == 1


def test_server_error_without_verdict_is_unknown(sim, alice, credential):
    sim.faults.http_500 = True
    order = place(alice, credential, price=Decimal(70000), quantity=1)
    sim.faults.http_500 = False
    assert order.status == Status.UNKNOWN
    actions.reconcile(credential, now=order.created_at + actions.NOT_RECEIVED_AFTER * 2)
    order.refresh_from_db()
    assert order.status == Status.REJECTED  # the 500 came before the matching engine
    assert order.reject_code == actions.NOT_RECEIVED
    assert orders_at_sim(sim, credential) == 0


def test_bob_cannot_cancel_alices_order(sim, alice, bob, credential):
    order = place(alice, credential, price=Decimal(60000), quantity=1)
    with pytest.raises(actions.TradingRefused):
        actions.cancel_order(bob, order, idempotency_key=new_idempotency_key())
    assert orders_at_sim(sim, credential) == 1


def test_unverified_credential_is_refused_before_anything_is_written(sim, alice, alice_credential):
    with pytest.raises(actions.TradingRefused):
        actions.place_order(alice, alice_credential, ticket())
    assert Order.objects.count() == 0
