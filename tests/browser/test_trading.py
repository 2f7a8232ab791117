"""The order ticket in a real browser against the simulator: place a paper order, find it
among the open orders, cancel it."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.actions import verify_credential
from tests.conftest import ALICE_PASSWORD
from trading.models import Order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def verified(user, credential) -> None:
    """Verify with KIS as the credential page does; in a thread of its own, because
    Playwright's loop runs in this one."""
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(verify_credential, user, credential).result(timeout=30).ok


def test_place_a_paper_order_see_it_open_and_cancel_it(
    signed_in_page, alice, alice_credential, simulator
):
    verified(alice, alice_credential)
    page = signed_in_page(alice, ALICE_PASSWORD)
    page.goto(reverse("trading:order_ticket") + "?symbol=005930")
    expect(page.locator(".quote-price")).to_be_visible()
    expect(page.locator(".env-badge--paper").first).to_be_visible()

    ticket = page.locator("form.ticket")
    step = page.locator(".tick-step[data-ticks='1']")
    step.click()
    expect(ticket.locator("input[name=price]")).to_have_value(step.get_attribute("data-price"))

    # The day's lower limit: on the grid, inside the limits, and below every ask all day.
    lower = simulator.sim.market.quote("005930").lower
    ticket.locator("input[name=price]").fill(str(lower))
    ticket.locator("input[name=quantity]").fill("2")
    expect(page.locator("#estimate")).not_to_have_text("—")
    ticket.locator("button.send").click()

    expect(page).to_have_url(re.compile(r"/trading/orders/[0-9a-f-]{36}/$"))
    expect(page.locator(".status--accepted")).to_be_visible()
    order = Order.objects.get(owner=alice)
    assert order.quantity == 2 and order.price == lower

    page.goto(reverse("trading:order_list"))
    row = page.locator(f"table.open-orders tr[data-order='{order.client_order_id}']")
    expect(row).to_be_visible()
    row.locator("button.cancel-order").click()

    expect(page).to_have_url(re.compile(r"/trading/orders/$"))
    expect(page.locator(".toast--success")).to_have_count(1)
    expect(page.locator("table.open-orders")).to_have_count(0)
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert simulator.sim.stats.orders_received(alice_credential.app_key) == 2  # order, cancel


def test_an_off_tick_price_is_refused_on_the_form(
    signed_in_page, alice, alice_credential, simulator, console_watch
):
    console_watch.expect("status of 400")  # a refused ticket answers 400 Bad Request
    verified(alice, alice_credential)
    page = signed_in_page(alice, ALICE_PASSWORD)
    page.goto(reverse("trading:order_ticket") + "?symbol=005930")
    ticket = page.locator("form.ticket")
    lower = simulator.sim.market.quote("005930").lower
    ticket.locator("input[name=price]").fill(str(lower + 1))
    ticket.locator("input[name=quantity]").fill("1")
    ticket.locator("button.send").click()
    expect(page.locator(".field--error .errorlist")).to_contain_text("호가 단위")
    assert Order.objects.count() == 0


def test_a_real_money_order_is_repeated_in_words_and_sent_only_when_confirmed(
    signed_in_page, alice, make_credential, simulator
):
    from accounts.actions import select_credential

    real = make_credential(alice, environment="real", label="Alice real")
    verified(alice, real)
    select_credential(alice, real)
    received = simulator.sim.stats.orders_received
    page = signed_in_page(alice, ALICE_PASSWORD)
    page.goto(reverse("trading:order_ticket") + "?symbol=005930")
    expect(page.locator(".env-badge--real").first).to_be_visible()
    lower = simulator.sim.market.quote("005930").lower  # on the grid, rests all day

    def review() -> None:
        ticket = page.locator("form.ticket")
        ticket.locator("input[name=price]").fill(str(lower))
        ticket.locator("input[name=quantity]").fill("3")
        ticket.locator("button.send").click()  # "Review order": nothing is sent yet
        words = page.locator("p.in-words")
        expect(words).to_contain_text("005930")
        expect(words).to_contain_text("3")
        expect(words).to_contain_text(f"{lower:,}")
        expect(page.locator("button.danger-send")).to_be_visible()

    review()
    assert Order.objects.count() == 0 and received(real.app_key) == 0
    page.go_back()  # the person changes their mind
    expect(page.locator("form.ticket")).to_be_visible()
    assert Order.objects.count() == 0 and received(real.app_key) == 0

    review()
    page.locator("button.danger-send").dblclick()  # an impatient double click: one order
    expect(page).to_have_url(re.compile(r"/trading/orders/[0-9a-f-]{36}/$"))
    expect(page.locator(".status--accepted")).to_be_visible()
    order = Order.objects.get()
    assert order.environment == "real" and order.quantity == 3 and order.price == lower
    assert received(real.app_key) == 1


def test_a_fill_pops_a_toast_on_the_page_the_user_is_on(
    signed_in_page, alice, alice_credential, simulator
):
    """A resting paper order fills while its owner looks at the order list: the execution
    notice reaches that tab as a toast (no reload), and the journal says filled."""
    market = simulator.sim.market
    market.set_liquidity("005930", 1000)
    market.set_price("005930", 71000)
    try:
        verified(alice, alice_credential)
        page = signed_in_page(alice, ALICE_PASSWORD)
        page.goto(reverse("trading:order_ticket") + "?symbol=005930")
        ticket = page.locator("form.ticket")
        ticket.locator("input[name=price]").fill("70000")  # rests below the market
        ticket.locator("input[name=quantity]").fill("3")
        ticket.locator("button.send").click()
        expect(page.locator(".status--accepted")).to_be_visible()
        order = Order.objects.get(owner=alice)

        page.goto(reverse("trading:order_list"))
        strip = page.locator("[data-health]")
        expect(strip.locator("[data-health-state]")).to_have_attribute(
            "data-health-state", "connected", timeout=10_000
        )
        expect(strip.locator("[data-health-registrations]")).to_have_text("2/41")  # notices
        expect(page.locator(".toast--notice")).to_have_count(0)

        market.set_price("005930", 69900)  # the market comes down through the order

        toast = page.locator(f".toast--notice[data-order-id='{order.pk}']")
        expect(toast).to_be_visible(timeout=10_000)
        expect(toast).to_have_attribute("role", "status")
        expect(toast).to_contain_text("3주 매수 체결")
        expect(toast).to_contain_text(re.compile(r"(69,900|70,000)원"))
        order.refresh_from_db()
        assert order.status == Order.Status.FILLED
        assert order.filled_quantity == 3
    finally:
        market.set_liquidity("005930", None)
