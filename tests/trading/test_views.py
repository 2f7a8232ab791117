"""The trading pages through Django's test client, against the simulator."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.helpers import ticket_form
from trading import actions
from trading.forms import new_idempotency_key
from trading.models import Order

from .conftest import orders_at_sim, ticket

pytestmark = pytest.mark.django_db


def test_ticket_shows_quote_book_buyable_and_tick_steps(sim, credential, alice_client):
    sim.market.set_price("005930", 71000)
    response = alice_client.get(reverse("trading:order_ticket"), {"symbol": "005930"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-price="71000"' in page
    assert "71,000" in page and "92,300" in page  # price and today's upper limit
    assert 'id="buyable"' in page
    assert 'data-price="71100"' in page and 'data-price="70900"' in page  # ±1 tick
    assert 'class="tick-step"' in page
    assert "모의투자" in page or "Paper trading" in page
    assert 'name="idempotency_key"' in page


def test_ticket_post_places_an_order_and_redirects_to_it(sim, credential, alice_client):
    sim.market.set_price("005930", 71000)
    response = alice_client.post(reverse("trading:order_ticket"), ticket_form(price="70000"))
    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == order.get_absolute_url()
    assert order.status == Order.Status.ACCEPTED
    detail = alice_client.get(order.get_absolute_url())
    assert detail.status_code == 200
    assert order.client_order_id in detail.content.decode()


def test_the_same_form_posted_twice_creates_one_order(sim, credential, alice_client):
    sim.market.set_price("005930", 71000)
    data = ticket_form(price="70000")
    first = alice_client.post(reverse("trading:order_ticket"), data)
    second = alice_client.post(reverse("trading:order_ticket"), data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Order.objects.count() == 1
    assert orders_at_sim(sim, credential) == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"price": "71050"},
            "The price must be on the tick grid: steps of 100 here. Try 71,000 or 71,100.",
        ),
        ({"price": "99000"}, "The price is above today&#x27;s upper limit of 92,300."),
        ({"price": "49000"}, "The price is below today&#x27;s lower limit of 49,700."),
        ({"quantity": "0"}, "The quantity must be a whole number of shares, 1 or more."),
        ({"quantity": "1.5"}, "The quantity must be a whole number of shares, 1 or more."),
        ({"quantity": "5000"}, "You can buy at most 1,408 shares at this price with your cash."),
        (
            {"side": "sell", "quantity": "1"},
            "You can sell at most 0 shares (what you hold and have not yet offered).",
        ),
        ({"venue": "NXT"}, "Paper trading sends orders to KRX only; NXT and SOR are real only."),
        ({"order_type": "05"}, "Paper trading takes order types 00–04 only"),
        ({"price": ""}, "Enter a price above zero for this order type."),
        ({"symbol": "12AB"}, "Enter a six-digit KRX code such as 005930."),
        ({"symbol": "999999"}, "KIS does not know this symbol. Check the code."),
        (
            {"market": "US", "venue": "NASD", "symbol": "AAPL", "order_type": "32"},
            "Paper trading takes US limit orders only (00).",
        ),
        ({"idempotency_key": "x"}, "Reload the page: this form is out of date."),
    ],
)
def test_every_ticket_check_says_why_in_words(sim, credential, alice_client, fields, message):
    sim.market.set_price("005930", 71000)
    with sim.market.lock:
        sim.market.ledgers[credential.app_key].cash["KRW"] = Decimal(100_000_000)
    response = alice_client.post(reverse("trading:order_ticket"), ticket_form(**fields))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Order.objects.count() == 0
    assert orders_at_sim(sim, credential) == 0


def test_ticket_refuses_outside_the_session(sim, credential, alice_client, settings, monkeypatch):
    import datetime as dt

    from trading import rules

    settings.KISWEB_MARKET_HOURS = "krx"
    saturday = dt.datetime(2026, 12, 5, 10, 0, tzinfo=rules.KST)
    monkeypatch.setattr(rules, "kst_now", lambda: saturday)
    response = alice_client.post(reverse("trading:order_ticket"), ticket_form())
    assert response.status_code == 400
    assert "The market is closed today (weekend)." in response.content.decode()
    assert orders_at_sim(sim, credential) == 0


def test_korean_messages(sim, credential, alice_client):
    sim.market.set_price("005930", 71000)
    response = alice_client.post(
        reverse("trading:order_ticket"),
        ticket_form(venue="NXT"),
        HTTP_ACCEPT_LANGUAGE="ko",
    )
    assert response.status_code == 400
    assert "모의투자는 KRX 로만 주문합니다" in response.content.decode()


def test_real_money_needs_a_confirmation_that_repeats_the_order(
    sim, alice, make_credential, alice_client
):
    from accounts.actions import select_credential, verify_credential

    real = make_credential(alice, environment="real", label="Alice real")
    assert verify_credential(alice, real).ok
    select_credential(alice, real)
    sim.market.set_price("005930", 71000)
    data = ticket_form(price="70000", quantity="3")
    review = alice_client.post(reverse("trading:order_ticket"), data)
    assert review.status_code == 200
    page = review.content.decode()
    assert "Buy 3 shares of 005930" in page
    assert "at 70,000 won each" in page
    assert Order.objects.count() == 0
    assert orders_at_sim(sim, real) == 0

    sent = alice_client.post(reverse("trading:order_ticket"), {**data, "confirmed": "on"})
    assert sent.status_code == 302
    order = Order.objects.get()
    assert order.environment == "real" and order.status == Order.Status.ACCEPTED
    assert orders_at_sim(sim, real) == 1


def test_portfolio_lists_holdings_with_totals(sim, alice, credential, alice_client):
    sim.market.set_price("005930", 71000)
    actions.place_order(alice, credential, ticket(price=Decimal(71100), quantity=3))
    response = alice_client.get(reverse("trading:portfolio"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "005930" in page and "삼성전자" in page
    assert "213,300" in page  # 3 × 71,100 at cost; the last price is 71,100 too


def test_a_kis_error_is_a_banner_not_a_500(sim, credential, alice_client):
    sim.faults.http_500 = True
    response = alice_client.get(reverse("trading:portfolio"))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'class="banner banner--error"' in page
    assert "EGW00002" in page


def test_order_list_reconciles_shows_open_orders_and_exports_csv(
    sim, alice, credential, alice_client
):
    sim.market.set_price("005930", 71000)
    sim.faults.lose_order_answers = 1
    lost = actions.place_order(alice, credential, ticket(price=Decimal(65000))).order
    assert lost.status == Order.Status.UNKNOWN
    response = alice_client.get(reverse("trading:order_list"))
    assert response.status_code == 200
    lost.refresh_from_db()
    assert lost.status == Order.Status.ACCEPTED  # settled on page load
    page = response.content.decode()
    assert reverse("trading:order_cancel", args=[lost.pk]) in page
    assert lost.kis_order_no in page  # the executions table from KIS

    export = alice_client.get(reverse("trading:order_list"), {"export": "csv"})
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[0][0] == "created_kst"
    assert rows[1][10] == "65000" and rows[1][11] == "1" and rows[1][12] == "accepted"
    assert orders_at_sim(sim, credential) == 1


def test_cancel_from_the_open_orders_list(sim, alice, credential, alice_client):
    sim.market.set_price("005930", 71000)
    order = actions.place_order(alice, credential, ticket(price=Decimal(65000))).order
    response = alice_client.post(
        reverse("trading:order_cancel", args=[order.pk]),
        {"idempotency_key": new_idempotency_key()},
    )
    assert response.status_code == 302
    alice_client.get(reverse("trading:order_list"))
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED


def test_reconcile_button(sim, alice, credential, alice_client):
    response = alice_client.post(reverse("trading:reconcile"))
    assert response.status_code == 302
    assert response["Location"] == reverse("trading:order_list")


def test_help_page_shows_the_paper_table(alice_client, alice):
    response = alice_client.get(reverse("trading:help"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "00 Limit" in page and "NXT" in page


def test_bob_gets_404_for_every_url_with_alices_order(
    sim, alice, bob, credential, bob_verified, client
):
    order = actions.place_order(alice, credential, ticket(price=Decimal(65000))).order
    client.force_login(bob)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    key = {"idempotency_key": new_idempotency_key(), "price": "66000"}
    assert client.get(reverse("trading:order_detail", args=[order.pk])).status_code == 404
    assert client.post(reverse("trading:order_cancel", args=[order.pk]), key).status_code == 404
    assert client.post(reverse("trading:order_revise", args=[order.pk]), key).status_code == 404
    listing = client.get(reverse("trading:order_list"))
    assert listing.status_code == 200
    assert order.client_order_id not in listing.content.decode()
    export = client.get(reverse("trading:order_list"), {"export": "csv"})
    assert order.client_order_id not in export.content.decode("utf-8-sig")
    # Bob posting Alice's idempotency key creates his own order, never shows hers.
    reused = client.post(
        reverse("trading:order_ticket"),
        ticket_form(price="65000", idempotency_key=order.idempotency_key),
    )
    assert reused.status_code == 302
    assert reused["Location"] != order.get_absolute_url()
    assert orders_at_sim(sim, credential) == 1


def test_signed_out_visitors_are_sent_to_sign_in(client):
    for name in ("portfolio", "order_ticket", "order_list", "help"):
        response = client.get(reverse(f"trading:{name}"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
