"""The market stream in a real browser: prices tick on a signed-in page through
``kisStream``, the health strip shows the registrations, and after the simulator drops the
socket the strip says so and then data resumes by itself."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import expect

from accounts.actions import verify_credential
from market.models import Symbol
from tests.conftest import ALICE_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COLLECT = """() => {
  window.kisSeen = [];
  for (const type of ["trade", "book", "subscribed", "status", "error"]) {
    document.addEventListener(`kis:${type}`, (e) => window.kisSeen.push(e.detail));
  }
  window.kisStream.want("005930", ["trade", "book"]);
}"""


def verified(user, credential) -> None:
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(verify_credential, user, credential).result(timeout=30).ok


def watching(signed_in_page, alice, alice_credential):
    """Alice's home page with its stream asked for 005930, every message kept in kisSeen."""
    Symbol.objects.create(code="005930", market="KOSPI", name="삼성전자")
    verified(alice, alice_credential)
    page = signed_in_page(alice, ALICE_PASSWORD)
    page.goto("/")
    page.wait_for_function("() => window.kisStream !== undefined")
    page.evaluate(COLLECT)
    return page


def test_prices_tick_and_the_strip_tells_the_truth_after_a_drop(
    signed_in_page, alice, alice_credential, simulator
):
    page = watching(signed_in_page, alice, alice_credential)
    page.wait_for_function(
        "() => window.kisSeen.some((m) => m.type === 'trade' && /^\\d+$/.test(m.price))",
        timeout=15_000,
    )
    page.wait_for_function("() => window.kisSeen.some((m) => m.type === 'book')", timeout=15_000)
    strip = page.locator("[data-health]")
    expect(strip.locator("[data-health-state]")).to_have_attribute(
        "data-health-state", "connected", timeout=10_000
    )
    # Two quote registrations and the notice slots, of 41.
    expect(strip.locator("[data-health-registrations]")).to_have_text("4/41", timeout=10_000)
    expect(strip.locator("[data-health-gap]")).to_have_text("—")  # no drop yet

    simulator.sim.faults.drop_sockets()
    page.wait_for_function(
        "() => window.kisSeen.some("
        "(m) => m.type === 'status' && m.state === 'reconnecting' && !m.local)",
        timeout=10_000,
    )
    expect(strip.locator("[data-health-state]")).to_have_attribute(
        "data-health-state", "connected", timeout=15_000
    )
    expect(strip.locator("[data-health-reconnects]")).not_to_have_text("0")
    page.evaluate("() => { window.kisSeen.length = 0; }")
    page.wait_for_function("() => window.kisSeen.some((m) => m.type === 'trade')", timeout=15_000)
    # The gap that drop made, in the page's language, from the status sent with the first
    # quote after it (static/js/health.js).
    expect(strip.locator("[data-health-gap]")).to_have_text(re.compile(r"^\d+\.\d초$"))


def test_a_refusal_from_the_stream_is_one_toast_in_the_pages_language(
    signed_in_page, alice, alice_credential, simulator
):
    """The socket's error sentence reaches the person (static/js/toasts.js), once per kind
    while it shows, not once per symbol."""
    page = watching(signed_in_page, alice, alice_credential)
    page.wait_for_function("() => window.kisSeen.some((m) => m.type === 'subscribed')")
    page.evaluate("() => { for (const c of ['999990', '999991', '999992']) kisStream.want(c); }")
    toast = page.locator("[data-stream-error='unknown_symbol']")
    expect(toast).to_have_count(1, timeout=10_000)
    expect(toast).to_contain_text("종목")
    page.wait_for_function(
        "() => window.kisSeen.filter((m) => m.code === 'unknown_symbol').length === 3"
    )
    expect(toast).to_have_count(1)
    expect(toast).to_have_attribute("role", "alert")
