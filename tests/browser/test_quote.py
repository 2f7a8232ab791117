"""The quote page in a real browser against the simulator.

The first tests need no stream: the chart draws from the candle JSON, the book's bars and
click-to-price work, the vendored chart raises no CSP report (the page fixture fails on any
console error or CSP violation), and the page's scripts follow the market stream contract
when a frame in the contract's shape is dispatched as the ``kis:*`` DOM event that
``static/js/stream.js`` dispatches.

The ``live`` tests go through the relay (``/ws/market/``): real frames from the simulator
move the page.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.actions import verify_credential
from market.models import Symbol
from tests.conftest import ALICE_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def verified(user, credential) -> None:
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(verify_credential, user, credential).result(timeout=30).ok


@pytest.fixture
def symbols():
    Symbol.objects.create(code="005930", market="KOSPI", name="삼성전자", name_en="Samsung")
    Symbol.objects.create(code="AAPL", market="NASD", name="애플", name_en="Apple")


@pytest.fixture
def quote_page(signed_in_page, alice, alice_credential, symbols):
    verified(alice, alice_credential)
    page = signed_in_page(alice, ALICE_PASSWORD)

    def open_quote(code: str = "005930", *, cut_stream: bool = False):
        if cut_stream:  # the socket opens but hears nothing: only frames the test sends
            page.route_web_socket(re.compile(r"/ws/market/"), lambda socket: None)
        page.goto(reverse("market:quotes", args=[code]))
        return page

    return open_quote


def dispatch(page, kind: str, detail: dict) -> None:
    page.evaluate(
        "([kind, detail]) => document.dispatchEvent(new CustomEvent(kind, {detail}))",
        [kind, detail],
    )


def test_chart_draws_from_rest_and_book_prices_go_to_the_ticket(quote_page):
    page = quote_page("005930")
    expect(page.locator(".env-badge--paper").first).to_be_visible()
    chart = page.locator("#chart")
    expect(chart).to_have_attribute("data-bars", re.compile(r"^[1-9]\d*$"))
    expect(chart.locator("canvas").first).to_be_visible()
    expect(page.locator("#chart-status")).to_have_text("")

    # The largest level's bar is drawn at full width by the script (no inline styles).
    widths = page.eval_on_selector_all("#book .bar", "bars => bars.map(b => b.style.width)")
    assert "100%" in widths and len(widths) == 20

    best_bid = page.locator("#book tr.bid .book-price").first
    # Read and clicked in one step of the page: the book ticks live, and a level read
    # before a separate click had moved by the time of the click (failed on a clean clone).
    price = best_bid.evaluate(
        "cell => { const price = cell.dataset.price; cell.click(); return price; }"
    )
    expect(page.locator("form.ticket input[name=price]")).to_have_value(price)
    expect(page.locator("#estimate")).to_have_text("—")  # no quantity yet
    page.locator("form.ticket input[name=quantity]").fill("2")
    expect(page.locator("#estimate")).not_to_have_text("—")

    page.locator(".chart-tools [data-interval=minute]").click()
    expect(page.locator(".chart-tools [data-interval=minute]")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(page.locator("#chart-status")).to_have_text("")


def test_frames_in_the_contracts_shape_move_price_book_tape_and_chart(quote_page):
    page = quote_page("005930", cut_stream=True)
    expect(page.locator("#chart")).to_have_attribute("data-bars", re.compile(r"^[1-9]"))
    frame = {
        "type": "trade",
        "symbol": "005930",
        "price": "1234500",
        "change": "-500",
        "sign": "5",
        "rate": "-0.04",
        "volume": "10",
        "cum_volume": "9876543",
        "open": "1235000",
        "high": "1236000",
        "low": "1234000",
        "time": "093001",
        "currency": "KRW",
    }
    dispatch(page, "kis:trade", frame)
    last = page.locator(".quote-last")
    expect(last).to_have_text("1,234,500")
    expect(last).to_have_class(re.compile(r"\bdown\b"))
    expect(page.locator(".quote-change")).to_have_text("▼500")
    expect(page.locator(".quote-rate")).to_have_text("-0.04%")
    expect(page.locator("[data-live-field=cum_volume]")).to_have_text("9,876,543")
    expect(page.locator("[data-live-field=high]")).to_have_text("1,236,000")
    expect(page.locator("#tape tbody tr")).to_have_count(1)
    expect(page.locator("#tape tbody tr").first).to_contain_text("09:30:01")
    expect(page.locator("#chart")).to_have_attribute("data-last-close", "1234500")

    for second in range(40):  # the tape is bounded, newest first
        dispatch(page, "kis:trade", {**frame, "price": "1234600", "time": f"0931{second:02}"})
    expect(page.locator("#tape tbody tr")).to_have_count(30)
    expect(page.locator("#tape tbody tr").first).to_contain_text("09:31:39")

    dispatch(page, "kis:trade", {**frame, "symbol": "000660", "price": "1"})  # not ours
    expect(last).to_have_text("1,234,600")

    asks = [[str(71100 + 100 * i), str(1000 + i)] for i in range(10)]
    bids = [[str(71000 - 100 * i), str(500 + i)] for i in range(10)]
    book = {
        "type": "book",
        "symbol": "005930",
        "asks": asks,
        "bids": bids,
        "total_ask": "10045",
        "total_bid": "5045",
        "time": "093002",
    }
    dispatch(page, "kis:book", book)
    expect(page.locator("#book tr.ask .book-price").last).to_have_text("71,100")  # best ask
    expect(page.locator("#book tr.bid .book-price").first).to_have_text("71,000")
    expect(page.locator("#book-total-ask")).to_have_text("10,045")
    page.locator("#book tr.ask .book-price").last.click()
    expect(page.locator("form.ticket input[name=price]")).to_have_value("71100")

    dispatch(page, "kis:delayed", {**frame, "type": "delayed", "price": "1234700", "age_s": 12})
    expect(last).to_have_text("1,234,700")
    expect(page.locator("#stream-mode")).to_have_class(re.compile("stream-mode--delayed"))
    expect(page.locator("#stream-mode")).to_contain_text("12")


def test_a_us_quote_writes_dollars(quote_page):
    page = quote_page("AAPL", cut_stream=True)  # only the frame below moves the page
    expect(page.locator("#chart")).to_have_attribute("data-bars", re.compile(r"^[1-9]"))
    dispatch(
        page,
        "kis:trade",
        {
            "type": "trade",
            "symbol": "AAPL",
            "price": "1189.8400",
            "change": "1.2500",
            "sign": "2",
            "rate": "0.66",
            "volume": "3",
            "cum_volume": "1200",
            "open": "188",
            "high": "1190",
            "low": "187.5",
            "time": "103001",
            "currency": "USD",
        },
    )
    expect(page.locator(".quote-last")).to_have_text("1,189.84")
    expect(page.locator(".quote-last")).to_have_class(re.compile(r"\bup\b"))
    expect(page.locator(".quote-change")).to_have_text("▲1.25")
    expect(page.locator(".quote-rate")).to_have_text("+0.66%")


def test_unknown_symbol_page_has_a_search_box(quote_page, console_watch):
    console_watch.expect("status of 404")
    page = quote_page("ZZZZZZ")
    expect(page.locator("h1")).to_contain_text("404")
    page.locator("form.quote-box input[name=code]").fill("005930")
    page.locator("form.quote-box button").click()
    expect(page).to_have_url(re.compile(r"/market/quotes/005930/$"))


# ---------------------------------------------------------------- through the relay


def test_live_price_and_book_change_from_the_simulator(quote_page):
    page = quote_page("005930")
    # The simulator's session walks prices by itself; real frames reach the page.
    expect(page.locator("#tape tbody tr").first).to_be_visible(timeout=15_000)
    first_book = page.locator("#book tr.bid .val").all_inner_texts()
    expect(page.locator("#stream-mode")).to_have_class(re.compile("stream-mode--live"))
    page.wait_for_function(
        "(before) => [...document.querySelectorAll('#book tr.bid .val')]"
        ".map(e => e.textContent).join('|') !== before.join('|')",
        arg=first_book,
        timeout=15_000,
    )
    expect(page.locator("#chart")).to_have_attribute("data-last-close", re.compile(r"^\d+$"))


def test_portfolio_price_ticks_live(signed_in_page, alice, alice_credential, symbols, simulator):
    from decimal import Decimal

    from tests.trading.conftest import ticket
    from trading import actions

    verified(alice, alice_credential)
    lower = simulator.sim.market.quote("005930").upper  # a buy at the upper limit fills
    with ThreadPoolExecutor(1) as pool:
        pool.submit(
            actions.place_order, alice, alice_credential, ticket(price=Decimal(lower), quantity=1)
        ).result(timeout=30)
    page = signed_in_page(alice, ALICE_PASSWORD)
    page.goto(reverse("trading:portfolio"))
    cell = page.locator("[data-live-symbol='005930'][data-live-field=price]")
    before = cell.inner_text()
    page.wait_for_function(
        "(before) => document.querySelector(\"[data-live-symbol='005930']\").textContent"
        ".trim() !== before",
        arg=before,
        timeout=20_000,
    )
