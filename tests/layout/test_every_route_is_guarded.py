"""Every route of the URL configuration, tried by a stranger and by bob against alice's
objects: sign-in, 403 or 404, never alice's data, and nothing changes.

The routes are walked from the URL configuration and each must be named in exactly one of
the classes below, so a view added later fails ``test_every_route_is_classified`` until
someone says who may use it (and so gets the checks below for free).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Credential
from market.models import Symbol, Watchlist, WatchlistItem
from market.watchlists import add_symbol, create_watchlist
from tests.route_classes import (
    HOSTILE_FORM,
    OBJECT_ROUTES,
    OWN_PAGES,
    PUBLIC,
    SHARED_MARKET,
    STAFF,
)
from trading.models import Order

pytestmark = pytest.mark.django_db


def _routes(patterns, namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _routes(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            name = pattern.name or f"<unnamed {pattern.lookup_str}>"
            yield f"{namespace}:{name}" if namespace else name


ROUTES = sorted(set(_routes(get_resolver().url_patterns)))


def _is_admin(name: str) -> bool:
    return name.startswith("admin:") or name.startswith("<unnamed django.contrib.admin")


def test_every_route_is_classified():
    classes = [PUBLIC, STAFF, OWN_PAGES, SHARED_MARKET, set(OBJECT_ROUTES)]
    named = [name for name in ROUTES if not _is_admin(name)]
    unclassified = [name for name in named if sum(name in c for c in classes) != 1]
    assert unclassified == [], f"say who may use these routes: {unclassified}"
    stale = set().union(*classes) - set(named)
    assert stale == set(), f"these classified routes no longer exist: {stale}"


# ---------------------------------------------------------------- alice's things


@pytest.fixture
def alices(alice, alice_credential):
    """One of each of alice's objects, with a marker text bob must never see."""
    symbol = Symbol.objects.create(code="005930", market="KOSPI", name="삼성전자")
    watchlist = create_watchlist(alice, "앨리스비밀목록")
    item = add_symbol(watchlist, symbol)
    order = Order.objects.create(
        client_order_id="ALICEORDER01",
        idempotency_key="alice-key-1",
        owner=alice,
        credential=alice_credential,
        environment=alice_credential.environment,
        market=Order.Market.KRX,
        side=Order.Side.BUY,
        order_type="00",
        symbol="005930",
        price=Decimal(65000),
        quantity=7,
        status=Order.Status.ACCEPTED,
        kis_order_no="0000012345",
        kis_branch_no="06010",
    )
    markers = [alice_credential.label, watchlist.name, order.client_order_id, "0000012345"]
    return {
        "credential": [alice_credential.pk],
        "order": [order.pk],
        "watchlist": [watchlist.pk],
        "item": [watchlist.pk, item.pk],
        "markers": markers,
    }


def _state():
    """Every row bob could change, as values."""
    return (
        list(Credential.objects.order_by("pk").values_list()),
        list(Order.objects.order_by("pk").values_list()),
        list(Watchlist.objects.order_by("pk").values_list()),
        list(WatchlistItem.objects.order_by("pk").values_list()),
    )


def _url(name: str, alices) -> str:
    if name in OBJECT_ROUTES:
        return reverse(name, args=alices[OBJECT_ROUTES[name]])
    if name == "market:quotes" or name == "market:quote_candles":
        return reverse(name, args=["005930"])
    if name == "password_reset_confirm":
        return reverse(name, args=["MQ", "set-password"])
    return reverse(name)


def _no_marker(response, alices, where: str) -> None:
    body = response.content.decode("utf-8", "replace")
    for marker in alices["markers"]:
        assert marker not in body, f"{where} shows {marker!r}"


# ---------------------------------------------------------------- the checks


@pytest.mark.parametrize("name", sorted(OBJECT_ROUTES))
def test_bob_gets_404_for_alices_object_on_every_object_route(client, bob, alices, name):
    client.force_login(bob)
    url = _url(name, alices)
    before = _state()
    for method in ("get", "post"):
        response = getattr(client, method)(url, HOSTILE_FORM if method == "post" else {})
        # A POST-only view answers a GET with 405 before it looks anything up.
        allowed = (404, 405) if method == "get" else (404,)
        assert response.status_code in allowed, (method, url, response.status_code)
        _no_marker(response, alices, f"{method.upper()} {url}")
    assert _state() == before


@pytest.mark.parametrize("name", sorted(OWN_PAGES | SHARED_MARKET))
def test_bobs_own_pages_never_show_alices_things(client, bob, alices, name):
    client.force_login(bob)
    url = _url(name, alices)
    before = _state()
    response = client.get(url)
    assert response.status_code in (200, 302, 405), (url, response.status_code)
    _no_marker(response, alices, f"GET {url}")
    assert _state() == before


@pytest.mark.parametrize(
    "name", sorted(OWN_PAGES | SHARED_MARKET | set(OBJECT_ROUTES) | {"admin_kis_health"})
)
def test_a_stranger_is_sent_to_sign_in_everywhere_but_the_public_routes(client, alices, name):
    url = _url(name, alices)
    before = _state()
    for method in ("get", "post"):
        response = getattr(client, method)(url, HOSTILE_FORM if method == "post" else {})
        if method == "get" and response.status_code == 405:
            continue  # POST only, refused before anything is looked up
        assert response.status_code == 302, (method, url, response.status_code)
        assert "login/?next=" in response["Location"], (method, url, response["Location"])
    assert _state() == before


def test_admin_routes_and_staff_pages_refuse_a_member(client, bob, alices):
    client.force_login(bob)
    before = _state()
    changelists = [reverse(name) for name in ROUTES if name.endswith("_changelist")]
    credential_page = reverse("admin:accounts_credential_change", args=alices["credential"])
    for path in [*changelists, credential_page, "/admin/", reverse("admin_kis_health")]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/admin/login/"), path
        _no_marker(response, alices, path)
    assert client.get(reverse("metrics")).status_code == 403
    assert _state() == before


def test_the_markers_are_on_alices_own_pages(client, alice, alices):
    """The checks above look for these texts: they must be where alice sees her things."""
    client.force_login(alice)
    pages = {
        "accounts:credential_detail": alices["markers"][0],
        "market:watchlist": alices["markers"][1],
        "trading:order_detail": alices["markers"][3],
    }
    for name, marker in pages.items():
        response = client.get(_url(name, alices))
        assert response.status_code == 200, name
        assert marker in response.content.decode(), (name, marker)
