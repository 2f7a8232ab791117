"""The quote page and its candle JSON through Django's test client, against the simulator
over real sockets (its random walk stopped, so every figure is the one the test set)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.actions import verify_credential
from market.models import Symbol

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="session")
def simulator():
    from kisweb.kissim.testing import SimulatorThread

    with SimulatorThread(speed=0) as thread:
        yield thread


@pytest.fixture(autouse=True)
def faults_off(simulator):
    yield
    simulator.sim.faults.reset()


@pytest.fixture
def symbols(db):
    return {
        "005930": Symbol.objects.create(
            code="005930", market="KOSPI", name="삼성전자", name_en="Samsung Electronics"
        ),
        "AAPL": Symbol.objects.create(code="AAPL", market="NASD", name="애플", name_en="Apple"),
    }


@pytest.fixture
def sim(kis_endpoints):
    return kis_endpoints


@pytest.fixture
def alice_client(client, alice, alice_credential, symbols):
    assert verify_credential(alice, alice_credential).ok
    client.force_login(alice)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def page_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_quote_page_shows_price_limits_book_and_the_ticket(sim, alice_client):
    sim.market.set_price("005930", Decimal(71000))
    quote = sim.market.quote("005930")
    page = page_of(alice_client.get(reverse("market:quotes", args=["005930"])))
    assert "삼성전자" in page and "Samsung Electronics" in page
    price_cell = re.search(r'data-live-field="price"[^>]*>([^<]*)<', page)
    assert price_cell and price_cell.group(1) == "71,000"
    assert f"{quote.upper:,}" in page and f"{quote.lower:,}" in page  # the day's limits
    # Ten ask rows and ten bid rows, best prices around the spread, clickable to the ticket.
    assert page.count('<tr class="ask">') == 10 and page.count('<tr class="bid">') == 10
    book_prices = re.findall(r'class="book-price" data-price="([0-9.]+)"', page)
    assert len(book_prices) == 20
    asks, bids = [Decimal(p) for p in book_prices[:10]], [Decimal(p) for p in book_prices[10:]]
    assert asks == sorted(asks, reverse=True) and bids == sorted(bids, reverse=True)
    assert min(asks) > max(bids)
    assert re.search(r'data-width="100"', page)  # the largest level's bar is full width
    # The trading app's ticket, posting to the trading view, with this symbol.
    assert f'action="{reverse("trading:order_ticket")}"' in page
    assert 'name="symbol" value="005930"' in page and 'name="idempotency_key"' in page
    assert "Paper trading" in page
    assert 'data-candles-url="/market/quotes/005930/candles/"' in page


def test_the_ticket_on_the_quote_page_places_a_paper_order(sim, alice_client, alice):
    from trading.models import Order

    page = page_of(alice_client.get(reverse("market:quotes", args=["005930"])))
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    lower = sim.market.quote("005930").lower
    answer = alice_client.post(
        reverse("trading:order_ticket"),
        {
            "market": "KRX",
            "venue": "KRX",
            "symbol": "005930",
            "side": "buy",
            "order_type": "00",
            "price": str(lower),
            "quantity": "1",
            "idempotency_key": key,
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    order = Order.objects.get(owner=alice)
    assert answer.status_code == 302 and order.price == lower and order.symbol == "005930"


def test_korean_page_is_korean(sim, alice_client):
    alice_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "ko"
    page = page_of(alice_client.get(reverse("market:quotes", args=["005930"])))
    assert "호가" in page and "체결" in page and "모의투자" in page


def test_a_us_symbol_shows_dollars_and_says_there_is_no_paper_book(sim, alice_client):
    page = page_of(alice_client.get(reverse("market:quotes", args=["aapl"])))
    price = sim.market.quote("AAPL").price if hasattr(sim.market, "quote") else None
    cell = re.search(r'data-live-field="price" data-live-currency="USD">([^<]*)<', page)
    assert cell and re.fullmatch(r"\d{1,3}(,\d{3})*\.\d{2,4}", cell.group(1)), cell
    if price is not None:
        assert Decimal(cell.group(1).replace(",", "")) == Decimal(price)
    assert "USD" in page and 'name="market" value="US"' in page and 'value="NASD"' in page
    assert "no US order book" in page
    assert 'data-interval="minute"' not in page  # KIS gives paper no US minute bars


def test_unknown_code_is_a_404_page_with_a_search_box(alice_client):
    for code in ("999999", "NOPE", "%3Cscript%3E"):
        response = alice_client.get(f"/market/quotes/{code}/")
        assert response.status_code == 404
        page = response.content.decode()
        assert 'name="code"' in page and "Symbol not found" in page
        assert "<script>" not in page.split("<main", 1)[1]


def test_symbol_box_goes_to_the_code_and_the_nav_opens_the_default(alice_client):
    answer = alice_client.get(reverse("market:quotes"), {"code": "aapl"})
    assert answer.status_code == 302 and answer["Location"] == "/market/quotes/AAPL/"
    answer = alice_client.get(reverse("market:quotes"))
    assert answer["Location"] == "/market/quotes/005930/"
    assert alice_client.get(reverse("market:quotes"), {"code": "ZZZZZ"}).status_code == 404
    home = alice_client.get("/").content.decode()
    assert 'href="/market/quotes/"' in home  # the Quotes item is enabled


def test_a_kis_error_is_a_banner_not_a_500(sim, alice_client):
    sim.faults.http_500 = True
    response = alice_client.get(reverse("market:quotes", args=["005930"]))
    page = page_of(response)
    assert "banner--error" in page and "KIS said" in page
    assert "삼성전자" in page  # the page still says what it is about
    candles = alice_client.get(reverse("market:quote_candles", args=["005930"]))
    assert candles.status_code == 502 and "error" in candles.json()


def test_daily_and_minute_candles_are_json_oldest_first(sim, alice_client):
    daily = alice_client.get(reverse("market:quote_candles", args=["005930"]))
    assert daily.status_code == 200
    body = daily.json()
    assert body["currency"] == "KRW" and body["interval"] == "day"
    times = [bar["time"] for bar in body["candles"]]
    assert len(times) >= 20 and times == sorted(times)
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", t) for t in times)
    bar = body["candles"][-1]
    assert all(isinstance(bar[k], str) for k in ("open", "high", "low", "close", "volume"))
    assert Decimal(bar["low"]) <= Decimal(bar["close"]) <= Decimal(bar["high"])

    minute = alice_client.get(
        reverse("market:quote_candles", args=["005930"]), {"interval": "minute"}
    )
    bars = minute.json()["candles"]
    assert bars and all(isinstance(b["time"], int) for b in bars)
    assert [b["time"] for b in bars] == sorted(b["time"] for b in bars)
    assert all(b["time"] % 60 == 0 for b in bars)  # whole KST minutes as Unix seconds

    us = alice_client.get(reverse("market:quote_candles", args=["AAPL"])).json()
    assert us["currency"] == "USD" and len(us["candles"]) >= 20


def test_candles_refuse_bad_input_with_a_message(alice_client):
    url = reverse("market:quote_candles", args=["005930"])
    for query in ({"interval": "week"}, {"interval": "<x>"}):
        answer = alice_client.get(url, query)
        assert answer.status_code == 400 and answer.json()["error"]
    answer = alice_client.get(
        reverse("market:quote_candles", args=["AAPL"]), {"interval": "minute"}
    )
    assert answer.status_code == 400
    assert alice_client.get(reverse("market:quote_candles", args=["000000"])).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client, symbols):
    for url in (
        reverse("market:quotes", args=["005930"]),
        reverse("market:quote_candles", args=["005930"]),
    ):
        answer = client.get(url)
        assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]


def test_bob_reads_with_his_own_credential_never_alices(
    sim, client, alice_client, alice_credential, bob, bob_credential
):
    from django.test import Client

    assert verify_credential(bob, bob_credential).ok
    bob_client = Client(HTTP_ACCEPT_LANGUAGE="en")
    bob_client.force_login(bob)
    alice_before = sim.stats.requests(appkey=alice_credential.app_key)
    bob_before = sim.stats.requests(appkey=bob_credential.app_key)
    page = page_of(bob_client.get(reverse("market:quotes", args=["005930"])))
    assert sim.stats.requests(appkey=alice_credential.app_key) == alice_before
    assert sim.stats.requests(appkey=bob_credential.app_key) > bob_before
    assert bob_client.get(reverse("market:quote_candles", args=["005930"])).status_code == 200
    assert sim.stats.requests(appkey=alice_credential.app_key) == alice_before
    for secret in (alice_credential.app_key, bob_credential.app_key):
        assert secret not in page


def test_without_a_credential_the_page_says_what_to_do(client, django_user_model, symbols):
    carol = django_user_model.objects.create_user("carol", password="carol-pass-1")
    client.force_login(carol)
    page = page_of(client.get(reverse("market:quotes", args=["005930"]), HTTP_ACCEPT_LANGUAGE="en"))
    assert "삼성전자" in page and "KIS credential" in page
    answer = client.get(reverse("market:quote_candles", args=["005930"]))
    assert answer.status_code == 409 and answer.json()["error"]


def test_portfolio_prices_are_live_cells(sim, alice, alice_credential, alice_client, settings):
    from tests.trading.conftest import ticket
    from trading import actions

    settings.KISWEB_MARKET_HOURS = "always"
    sim.market.set_price("005930", Decimal(71000))
    actions.place_order(alice, alice_credential, ticket(price=Decimal(71100), quantity=3))
    page = page_of(alice_client.get(reverse("trading:portfolio")))
    cell = re.search(
        r'<td class="num" data-live-symbol="005930" data-live-field="price"[^>]*>([^<]*)<', page
    )
    assert cell and cell.group(1) == "71,100"
    assert "js/live-prices" in page and "css/market" in page


def test_symbol_box_takes_the_search_boxs_fields_and_a_market(alice_client, symbols):
    Symbol.objects.create(code="AAPL", market="NYSE", name="애플 (NYSE)")
    answer = alice_client.get(reverse("market:quotes"), {"symbol": "AAPL", "market": "NASD"})
    assert answer["Location"] == "/market/quotes/AAPL/"
    assert alice_client.get(reverse("market:quotes"), {"symbol": "<x>"}).status_code == 404


def test_a_reload_within_two_seconds_spends_no_kis_call(
    sim, alice_client, alice_credential, settings
):
    """Paper KIS allows 2 calls a second: reloads and tab flicks reuse the snapshot and the
    bars for a moment, per app key, and a fresh read follows once they are old."""

    def calls(tr_id: str | None = None) -> int:
        return len(sim.stats.requests(appkey=alice_credential.app_key, tr_id=tr_id))

    def price(page: str) -> str:
        return re.search(r'data-live-field="price"[^>]*>([^<]*)<', page).group(1).strip()

    def trade_at(price: int) -> str:
        """The price the simulator trades at now (orders other tests left may print too)."""
        sim.market.set_price("005930", price)
        return f"{sim.market.quote('005930').price:,.0f}"

    page = reverse("market:quotes", args=["005930"])
    candles = reverse("market:quote_candles", args=["005930"])
    was = trade_at(71000)
    first = page_of(alice_client.get(page))
    assert alice_client.get(candles).status_code == 200
    quotes, everything = calls("FHKST01010100"), calls()
    now = trade_at(75000)
    again = page_of(alice_client.get(page))
    assert alice_client.get(candles).status_code == 200
    assert (calls("FHKST01010100"), calls()) == (quotes, everything)  # nothing asked
    assert price(first) == price(again) == was != now  # the moment-old snapshot, as read

    settings.KISWEB_QUOTE_SNAPSHOT_TTL_S = 0  # the moment has passed
    fresh = page_of(alice_client.get(page))
    assert calls("FHKST01010100") == quotes + 1
    assert price(fresh) == now
