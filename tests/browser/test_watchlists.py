"""The watchlist page in a real browser: the autocomplete (keyboard only, 초성 search),
adding, moving rows in place with the script, and the layout at phone and desktop widths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import expect

from market.models import Symbol
from market.symbols import load_bundled
from market.watchlists import add_symbol, create_watchlist

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Set to a directory to keep the screenshots a person looks at (never committed).
SHOTS = os.environ.get("KISWEB_SCREENSHOT_DIR", "")


def shoot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_add_with_the_keyboard_and_reorder_in_place(signed_in_page, make_member):
    load_bundled()
    carol = make_member("carol")
    watchlist = create_watchlist(carol, "관심")
    page = signed_in_page(carol)
    page.goto(reverse("market:watchlist", args=[watchlist.pk]))

    box = page.locator("#add-symbol")
    box.fill("ㅅㅅㅈㅈ")
    options = page.locator("#add-symbol-list [role=option]")
    expect(options.first).to_contain_text("삼성전자")
    expect(box).to_have_attribute("aria-expanded", "true")
    box.press("ArrowDown")
    expect(options.first).to_have_attribute("aria-selected", "true")
    box.press("Enter")  # picks, fills the code and sends the form
    rows = page.locator("tbody tr[data-item]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-symbol", "005930")
    expect(rows.first.locator("[data-live-field=price]")).to_have_text("—")

    page.locator("#add-symbol").fill("애플")
    expect(page.locator("#add-symbol-list [role=option]").first).to_contain_text("AAPL")
    page.locator("#add-symbol").press("ArrowDown")
    page.locator("#add-symbol").press("Enter")
    expect(rows).to_have_count(2)
    assert list(watchlist.items.values_list("symbol__code", flat=True)) == ["005930", "AAPL"]

    page.evaluate("window.__stayed = true")  # gone if the page reloads
    rows.nth(1).locator("form[data-move] button").first.click()  # AAPL up
    expect(rows.first).to_have_attribute("data-symbol", "AAPL")
    assert page.evaluate("window.__stayed === true")
    expect(rows.first.locator("form[data-move] button").first).to_be_disabled()
    expect(rows.nth(1).locator("form[data-move] button").nth(1)).to_be_disabled()
    assert list(watchlist.items.values_list("symbol__code", flat=True)) == ["AAPL", "005930"]

    page.locator("#add-symbol").fill("ㅎㅎㅎㅎ없음")
    expect(page.locator("#add-symbol-list .no-match")).to_be_visible()
    page.locator("#add-symbol").press("Escape")
    expect(page.locator("#add-symbol-list")).to_be_hidden()


@pytest.mark.parametrize("language", ["ko", "en"])
@pytest.mark.parametrize("width", [390, 1440])
def test_layout_fits_and_numbers_line_up(signed_in_page, make_member, language, width):
    load_bundled()
    dana = make_member(f"dana{language}{width}")
    watchlist = create_watchlist(dana, "반도체와 2차전지")
    create_watchlist(dana, "미국 빅테크")
    for code in ("005930", "000660", "373220", "247540", "069500", "NVDA", "SPY"):
        add_symbol(watchlist, Symbol.objects.get(code=code))
    page = signed_in_page(dana)
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": page.url}]
    )
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(reverse("market:watchlist", args=[watchlist.pk]))
    expect(page.locator("h1")).to_have_text("관심종목" if language == "ko" else "Watchlists")
    # nothing wider than the screen: the table scrolls inside its box
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    prices = page.locator("td.price")
    expect(prices).to_have_count(7)
    style = prices.first.evaluate("cell => getComputedStyle(cell).fontVariantNumeric")
    assert "tabular-nums" in style
    shoot(page, f"watchlist-{language}-{width}")
    page.locator("#add-symbol").fill("ㅋㅋ")
    expect(page.locator("#add-symbol-list [role=option]").first).to_be_visible()
    shoot(page, f"watchlist-search-{language}-{width}")


def test_a_watchlist_row_ticks(signed_in_page, alice, alice_credential):
    from concurrent.futures import ThreadPoolExecutor

    from accounts.actions import verify_credential
    from tests.conftest import ALICE_PASSWORD

    with ThreadPoolExecutor(1) as pool:  # Playwright's loop runs in this thread
        assert pool.submit(verify_credential, alice, alice_credential).result(timeout=30).ok
    load_bundled()
    watchlist = create_watchlist(alice, "live")
    add_symbol(watchlist, Symbol.objects.get(code="005930"))
    page = signed_in_page(alice, ALICE_PASSWORD)
    page.goto(reverse("market:watchlist", args=[watchlist.pk]))
    price = page.locator("tr[data-symbol='005930'] [data-live-field=price]")
    expect(price).not_to_have_text("—", timeout=15_000)
    first = price.text_content()
    assert first and first.replace(",", "").isdigit()
    expect(page.locator("tr[data-symbol='005930'] [data-live-field=cum_volume]")).not_to_have_text(
        "—"
    )
