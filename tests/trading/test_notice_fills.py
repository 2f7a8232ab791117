"""A fill reported both by KIS's daily list (reconcile) and by its execution notice is
counted once, whichever comes first, and no older answer moves a row backwards."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kisweb.kis import Side
from kisweb.kis.realtime import ExecutionNotice
from kisweb.kis.realtime.events import NoticeAction
from tests.trading.conftest import ticket
from trading import actions
from trading.models import Order
from trading.notices import apply_notice

pytestmark = pytest.mark.django_db
Status = Order.Status


def fill_notice(order: Order, quantity: int, price: int) -> ExecutionNotice:
    return ExecutionNotice(
        tr_id="H0STCNI9",
        hts_id="demo",
        account_no="",  # apply_notice is given the credential; the hub routes by account
        order_no=order.kis_order_no,
        original_order_no="",
        branch_no=order.kis_branch_no,
        side=Side.BUY,
        action=NoticeAction.ORDER,
        symbol=order.symbol,
        symbol_name="삼성전자",
        is_fill=True,
        rejected=False,
        quantity=quantity,
        price=Decimal(price),
        order_quantity=order.quantity,
        order_price=order.price,
        time=None,
    )


def test_a_fill_reconciled_first_is_not_counted_again_by_its_late_notice(sim, alice, credential):
    sim.market.set_price("005930", 71000)
    sim.market.set_liquidity("005930", 2)  # 2 of the 3 shares fill, 1 rests
    try:
        order = actions.place_order(
            alice, credential, ticket(price=Decimal(71100), quantity=3)
        ).order
        actions.reconcile(credential)
        order.refresh_from_db()
        assert (order.status, order.filled_quantity) == (Status.PARTIALLY_FILLED, 2)

        apply_notice(str(credential.pk), fill_notice(order, 2, 71100))  # the same 2 shares

        order.refresh_from_db()
        assert (order.status, order.filled_quantity) == (Status.PARTIALLY_FILLED, 2)
        assert order.average_fill_price == Decimal(71100)
    finally:
        sim.market.set_liquidity("005930", None)


def test_a_notice_first_then_an_older_list_keeps_the_notice_and_counts_once(sim, alice, credential):
    sim.market.set_price("005930", 71000)
    order = actions.place_order(alice, credential, ticket(price=Decimal(70000), quantity=10)).order
    assert order.status == Status.ACCEPTED  # resting below the market: KIS lists 0 filled
    apply_notice(str(credential.pk), fill_notice(order, 4, 70000))
    order.refresh_from_db()
    assert (order.status, order.filled_quantity) == (Status.PARTIALLY_FILLED, 4)

    actions.reconcile(credential)  # its list was read "before" the fill: 0 filled

    order.refresh_from_db()
    assert (order.status, order.filled_quantity) == (Status.PARTIALLY_FILLED, 4)
    assert order.average_fill_price == Decimal(70000)

    apply_notice(str(credential.pk), fill_notice(order, 6, 70000))
    order.refresh_from_db()
    assert (order.status, order.filled_quantity) == (Status.FILLED, 10)
