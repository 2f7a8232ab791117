"""What the generated hostile input found, each kept as one plain case: the request that
answered 500 before the fix, and the clear answer it gets now."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditEvent, Credential

from .rows import beyond_refusal_records, diff, snapshot

pytestmark = pytest.mark.django_db


def test_deleting_a_credential_with_orders_in_the_journal_is_refused_in_words(world, client):
    """The journal keeps every order and the credential it went out with (PROTECT): the
    delete raised ProtectedError, a 500, and now says why and what to do instead."""
    client.force_login(world.alice)
    url = reverse("accounts:credential_delete", args=[world.credential.pk])
    before = snapshot()

    response = client.post(url, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 302
    assert response["Location"] == world.credential.get_absolute_url()
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Orders in the journal" in page and "Disable it instead" in page
    assert diff(before, snapshot()) == {}
    assert Credential.objects.filter(pk=world.credential.pk).exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.CREDENTIAL_DELETED).exists()


def test_the_refusal_to_delete_is_in_korean_too(world, client):
    client.force_login(world.alice)
    url = reverse("accounts:credential_delete", args=[world.credential.pk])
    response = client.post(url, follow=True, HTTP_ACCEPT_LANGUAGE="ko")
    assert "주문" in response.content.decode()
    assert "사용 안 함" in response.content.decode() or "사용하지 않음" in response.content.decode()


@pytest.mark.parametrize(
    "query", [{"start": "0001-01-01"}, {"end": "9999-12-31"}, {"start": "9999-12-31"}]
)
def test_an_order_list_date_at_the_end_of_the_calendar_is_refused_on_the_form(world, client, query):
    """The list widens the range by a day either side for time zones: 0001-01-01 less a
    day raised OverflowError, a 500."""
    client.force_login(world.alice)
    response = client.get(reverse("trading:order_list"), query, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Enter a date from 2000 to 2099." in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"symbol": "005930", "venue": "NASD"},
        {"symbol": "005930", "venue": "<script>"},
        {"symbol": "AAPL", "market": "US", "venue": "KRX"},
        {"symbol": "ZZZZ", "market": "US", "venue": "\x00"},
    ],
)
def test_a_ticket_link_with_a_venue_of_another_market_opens_the_ticket(world, client, query):
    """``Venue("NASD")`` for a Korean stock raised ValueError, a 500: a venue the market
    does not have is replaced by the market's own."""
    client.force_login(world.alice)
    response = client.get(reverse("trading:order_ticket"), query, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    venue = response.context["form"].initial["venue"]
    assert venue == ("KRX" if query.get("market") != "US" else "NASD")


# Requests PostgreSQL answers differently from SQLite (NUL bytes in text, integers beyond
# bigint), or that reach a lookup before any form: each was tried on purpose, beside the
# generated ones, and must be a clear answer that changes nothing.
SIGNED_IN_REQUESTS = [
    ("get", "/trading/trade/", {"market": "US", "symbol": "A\x00"}),
    ("post", "/trading/trade/", {"market": "US", "symbol": "A\x00", "venue": "NASD"}),
    ("get", "/market/search/", {"q": "a\x00b"}),
    ("get", "/market/symbols/search/", {"q": "\x00"}),
    ("get", "/market/quotes/", {"code": "\x00", "market": "\x00"}),
    ("get", "/market/quotes/A%00/", {}),
    ("get", "/market/quotes/005930/candles/", {"interval": "\x00"}),
    ("get", "/trading/orders/", {"symbol": "\x00", "status": "\x00", "page": "\x00"}),
    ("get", "/accounts/activity/", {"page": "99999999999999999999"}),
    ("get", "/market/watchlists/99999999999999999999/", {}),
    ("post", "/market/watchlists/99999999999999999999/add/", {"symbol": "005930"}),
    ("post", "/market/watchlists/9223372036854775808/items/99999999999999999999/remove/", {}),
    ("post", "/accounts/credentials/select/", {"credential": "\x00", "next": "\x00"}),
]
STRANGER_REQUESTS = [
    ("get", "/accounts/login/", {"next": "\x00"}),
    ("post", "/accounts/login/", {"username": "alice\x00", "password": "x"}),
    ("post", "/accounts/password_reset/", {"email": "alice\x00@example.org"}),
    ("post", "/accounts/sign-up/", {"username": "a\x00", "password1": "x", "password2": "x"}),
    ("post", "/i18n/setlang/", {"language": "\x00", "next": "\x00"}),
    ("get", "/accounts/reset/%00/%00/", {}),
    ("post", "/accounts/reset/MQ/set-password/", {"new_password1": "\x00"}),
]


def _clear_and_unchanged(client, method: str, path: str, data: dict[str, str]) -> None:
    before = snapshot()
    response = getattr(client, method)(path, data)
    assert response.status_code in (200, 302, 400, 403, 404, 405), response.status_code
    assert beyond_refusal_records(diff(before, snapshot())) == {}


@pytest.mark.parametrize(("method", "path", "data"), SIGNED_IN_REQUESTS)
def test_hostile_requests_of_a_member(world, client, method, path, data):
    """``/trading/trade/?market=US&symbol=A%00`` looked the ticker up in the symbol
    master as it was: a 500 on PostgreSQL."""
    client.force_login(world.alice)
    _clear_and_unchanged(client, method, path, data)


@pytest.mark.parametrize(("method", "path", "data"), STRANGER_REQUESTS)
def test_hostile_requests_of_a_stranger(world, client, method, path, data):
    _clear_and_unchanged(client, method, path, data)
