"""Venues through the ticket: the quote comes from the venue the order goes to, the venue
travels with the order, paper refuses NXT/SOR in words; the stock's name; US order types
and US revise/cancel from the order page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.actions import select_credential, verify_credential
from market.models import Symbol
from tests.helpers import post_ticket
from trading.forms import new_idempotency_key
from trading.models import Order

from .conftest import orders_at_sim

pytestmark = pytest.mark.django_db

SAMSUNG = "005930"


@pytest.fixture
def real(sim, alice, make_credential):
    credential = make_credential(
        alice, environment="real", label="Alice real"
    )  # the simulator's customer starts with cash and no holdings
    assert verify_credential(alice, credential).ok
    select_credential(alice, credential)
    credential.refresh_from_db()
    return credential


def ticket_page(client, **params) -> str:
    response = client.get(reverse("trading:order_ticket"), {"symbol": SAMSUNG, **params})
    assert response.status_code == 200
    return response.content.decode()


def test_the_ticket_prices_nxt_from_nxt(sim, real, alice_client):
    sim.market.set_price(SAMSUNG, 71000)
    sim.market.set_liquidity(SAMSUNG, 100)
    krx = ticket_page(alice_client)
    nxt = ticket_page(alice_client, venue="NXT")
    assert 'class="quote-price num' in krx and 'data-price="71000"' in krx
    assert 'data-price="71100"' in nxt  # NXT trades one tick above KRX in the simulator
    assert "NXT quote" in nxt and "KRX quote" in krx
    # The NXT book's best ask is 71,200: the price the ticket suggests fills there.
    sent = post_ticket(alice_client, venue="NXT", price="71200", confirmed="on")
    assert sent.status_code == 302
    order = Order.objects.get()
    assert order.venue == "NXT"
    row = sim.market.ledgers[real.app_key].orders[order.kis_order_no.zfill(10)]
    assert (row.venue, row.filled) == ("NXT", 1)
    detail = alice_client.get(order.get_absolute_url()).content.decode()
    assert "NXT" in detail
    history = alice_client.get(reverse("trading:order_list")).content.decode()
    assert '<td class="venue">NXT</td>' in history  # KIS's execution row names the venue


def test_sor_goes_out_as_sor(sim, real, alice_client):
    sim.market.set_price(SAMSUNG, 71000)
    assert post_ticket(alice_client, venue="SOR", price="70000", confirmed="on").status_code == 302
    order = Order.objects.get()
    assert sim.market.ledgers[real.app_key].orders[order.kis_order_no.zfill(10)].venue == "SOR"


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "NXT does not take this order type. It takes: 00 Limit"),
        ("ko", "NXT에서는 이 주문 유형을 받지 않습니다."),
    ],
)
def test_nxt_refuses_market_orders_in_words(sim, real, alice_client, language, message):
    response = post_ticket(alice_client, language, venue="NXT", order_type="01", price="")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert orders_at_sim(sim, real) == 0


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Paper trading sends orders to KRX only; NXT and SOR are real only."),
        ("ko", "모의투자는 KRX 로만 주문합니다"),
    ],
)
def test_paper_refuses_sor_in_words(sim, credential, alice_client, language, message):
    response = post_ticket(alice_client, language, venue="SOR")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert orders_at_sim(sim, credential) == 0


def test_the_ticket_names_the_stock_from_the_master(sim, credential, alice_client):
    Symbol.objects.create(code=SAMSUNG, market=Symbol.Market.KOSPI, name="삼성전자(마스터)")
    page = ticket_page(alice_client)
    assert "삼성전자(마스터)" in page
    assert "KOSPI200" not in page  # the quote's index group is not the stock's name


def test_the_ticket_names_the_stock_from_search_info_on_real(sim, real, alice_client):
    cache.clear()
    before = sum(1 for r in sim.stats.requests() if r.path.endswith("/search-info"))
    page = ticket_page(alice_client)
    assert '<strong class="stock-name">삼성전자</strong>' in page
    assert "KOSPI200" not in page
    ticket_page(alice_client)  # the name is kept: KIS is asked once
    after = sum(1 for r in sim.stats.requests() if r.path.endswith("/search-info"))
    assert after - before == 1
    placed = post_ticket(alice_client, price="70000", confirmed="on")
    assert placed.status_code == 302
    assert Order.objects.get().symbol_name == "삼성전자"


def test_paper_without_a_master_row_shows_the_code_not_a_wrong_name(sim, credential, alice_client):
    page = ticket_page(alice_client)
    assert 'class="stock-name"' not in page
    assert "<code>005930</code>" in page
    assert "KOSPI200" not in page


# -- US --------------------------------------------------------------------------------------


def us_post(client, **fields):
    data = {
        "market": "US",
        "venue": "NASD",
        "symbol": "AAPL",
        "side": "buy",
        "order_type": "00",
        "price": "1.00",
        "quantity": "1",
        "idempotency_key": new_idempotency_key(),
        "confirmed": "on",
        **fields,
    }
    return client.post(reverse("trading:order_ticket"), data, HTTP_ACCEPT_LANGUAGE="en")


def test_us_exchange_comes_from_the_master(sim, credential, alice_client):
    Symbol.objects.create(code="KO", market=Symbol.Market.NYSE, name="코카콜라")
    page = alice_client.get(
        reverse("trading:order_ticket"), {"market": "US", "symbol": "KO", "venue": "NASD"}
    ).content.decode()
    assert 'name="venue" value="NYSE"' in page or 'value="NYSE" selected' in page


def test_us_limit_on_close_on_real_then_revise_and_cancel_from_the_order_page(
    sim, real, alice_client
):
    sim.market.ledgers[real.app_key].cash["USD"] = Decimal(1000)
    sent = us_post(alice_client, order_type="34")
    assert sent.status_code == 302
    order = Order.objects.get()
    assert order.status == Order.Status.ACCEPTED
    ledger = sim.market.ledgers[real.app_key]
    assert ledger.orders[order.kis_order_no.zfill(10)].ord_dvsn == "34"
    revise = alice_client.post(
        reverse("trading:order_revise", args=[order.pk]),
        {"idempotency_key": new_idempotency_key(), "price": "1.01"},
    )
    assert revise.status_code == 302
    revision = Order.objects.get(kind=Order.Kind.REVISE)
    assert revision.status == Order.Status.ACCEPTED
    assert ledger.orders[revision.kis_order_no.zfill(10)].price == Decimal("1.01")
    cancel = alice_client.post(
        reverse("trading:order_cancel", args=[revision.pk]),
        {"idempotency_key": new_idempotency_key()},
    )
    assert cancel.status_code == 302
    cancellation = Order.objects.get(kind=Order.Kind.CANCEL)
    assert cancellation.status == Order.Status.ACCEPTED
    assert not ledger.orders[revision.kis_order_no.zfill(10)].is_open


def test_paper_refuses_us_limit_on_open(sim, credential, alice_client):
    response = us_post(alice_client, order_type="32")
    assert response.status_code == 400
    assert "Paper trading takes US limit orders only (00)." in response.content.decode()
    assert orders_at_sim(sim, credential) == 0


def test_bob_cannot_cancel_alices_us_order(sim, real, alice_client, client, bob):
    sim.market.ledgers[real.app_key].cash["USD"] = Decimal(1000)
    assert us_post(alice_client).status_code == 302
    order = Order.objects.get()
    client.force_login(bob)
    response = client.post(
        reverse("trading:order_cancel", args=[order.pk]),
        {"idempotency_key": new_idempotency_key()},
    )
    assert response.status_code == 404
    assert client.get(order.get_absolute_url()).status_code == 404
    assert Order.objects.count() == 1


def test_the_real_money_review_names_the_us_order_type(sim, real, alice_client):
    sim.market.ledgers[real.app_key].cash["USD"] = Decimal(1000)
    review = us_post(alice_client, order_type="32", confirmed="")
    assert review.status_code == 200
    assert "Limit on open (LOO)" in review.content.decode()
    assert Order.objects.count() == 0
