"""The ticket knows the session: what it offers and refuses before the open, in the closing
auction and after hours (the KRX-hours rules; holidays are in test_holidays.py)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from accounts.actions import select_credential, verify_credential
from tests.helpers import post_ticket
from trading import rules
from trading.models import Order

from .conftest import orders_at_sim

pytestmark = pytest.mark.django_db

WEDNESDAY = dt.date(2026, 12, 2)


def at(clock: str) -> dt.datetime:
    return dt.datetime.combine(WEDNESDAY, dt.time.fromisoformat(clock), tzinfo=rules.KST)


@pytest.fixture
def krx_clock(settings, monkeypatch):
    settings.KISWEB_MARKET_HOURS = "krx"

    def set_clock(clock: str) -> None:
        monkeypatch.setattr(rules, "kst_now", lambda: at(clock))

    return set_clock


@pytest.fixture
def real(sim, alice, make_credential):
    credential = make_credential(alice, environment="real", label="Alice real")
    assert verify_credential(alice, credential).ok
    select_credential(alice, credential)
    credential.refresh_from_db()
    return credential


def offered_types(page: str) -> list[str]:
    select = re.search(r'<select name="order_type"[^>]*>(.*?)</select>', page, re.S)
    assert select, "the ticket has an order-type select"
    return re.findall(r'<option value="(\d\d)"', select.group(1))


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Paper trading takes orders from 09:00 to 15:30 KST only."),
        ("ko", "모의투자는 한국 시각 09:00–15:30에만 주문을 받습니다."),
    ],
)
def test_paper_before_the_open_is_refused_in_words(
    sim, credential, alice_client, krx_clock, language, message
):
    krx_clock("08:59")
    response = post_ticket(alice_client, language)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert orders_at_sim(sim, credential) == 0


def test_real_before_the_open_offers_the_opening_call_and_pre_market_off_hours(
    sim, real, alice_client, krx_clock
):
    krx_clock("08:35")
    page = alice_client.get(reverse("trading:order_ticket")).content.decode()
    assert offered_types(page) == ["00", "01", "02", "05"]
    assert "Pre-market off-hours" in page and "Opening auction" in page
    krx_clock("08:10")
    nxt = alice_client.get(reverse("trading:order_ticket"), {"venue": "NXT"}).content.decode()
    assert offered_types(nxt) == ["00"]
    assert "NXT pre-market" in nxt


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "This order type is not taken during the Closing auction."),
        ("ko", "장 마감 동시호가에는 이 주문 유형을 받지 않습니다."),
    ],
)
def test_closing_auction_takes_limit_market_and_conditional_only(
    sim, credential, alice_client, krx_clock, language, message
):
    krx_clock("15:25")
    page = alice_client.get(reverse("trading:order_ticket")).content.decode()
    assert offered_types(page) == ["00", "01", "02"]
    refused = post_ticket(alice_client, language, order_type="03", price="")
    assert refused.status_code == 400
    assert message in refused.content.decode()
    assert orders_at_sim(sim, credential) == 0
    sent = post_ticket(alice_client, price="70000")
    assert sent.status_code == 302
    assert Order.objects.get().status == Order.Status.ACCEPTED


def test_after_hours_single_price_is_the_only_type_and_is_sent_as_07(
    sim, real, alice_client, krx_clock
):
    krx_clock("16:30")
    sim.market.set_price("005930", 71000)
    page = alice_client.get(reverse("trading:order_ticket"), {"symbol": "005930"}).content
    assert offered_types(page.decode()) == ["07"]
    limit = post_ticket(alice_client, order_type="00", confirmed="on")
    assert limit.status_code == 400
    assert "not taken during the After-hours single price" in limit.content.decode()
    sent = post_ticket(alice_client, order_type="07", price="71000", confirmed="on")
    assert sent.status_code == 302
    order = Order.objects.get()
    assert (order.order_type, order.status) == ("07", Order.Status.ACCEPTED)
    ledger = sim.market.ledgers[real.app_key]
    assert ledger.orders[order.kis_order_no.zfill(10)].ord_dvsn == "07"


def test_post_market_off_hours_goes_out_without_a_price(sim, real, alice_client, krx_clock):
    krx_clock("15:45")
    sim.market.set_price("005930", 71000)
    sent = post_ticket(alice_client, order_type="06", price="", confirmed="on")
    assert sent.status_code == 302
    order = Order.objects.get()
    row = sim.market.ledgers[real.app_key].orders[order.kis_order_no.zfill(10)]
    assert (row.ord_dvsn, row.price) == ("06", 0)


def test_paper_after_hours_is_closed(sim, credential, alice_client, krx_clock):
    krx_clock("16:30")
    page = alice_client.get(reverse("trading:order_ticket")).content.decode()
    assert "Closed" in page
    response = post_ticket(alice_client, order_type="00")
    assert response.status_code == 400
    assert orders_at_sim(sim, credential) == 0
