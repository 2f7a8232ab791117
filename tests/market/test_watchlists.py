"""Watchlists: several per person, named and ordered; add, remove and reorder symbols with
plain forms (and JSON for the page's script); limits with messages; nobody else's lists."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from market.models import Symbol, Watchlist, WatchlistItem
from market.symbols import load_bundled
from market.watchlists import add_symbol, create_watchlist

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture(autouse=True)
def master():
    load_bundled()


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="alice-pass-1")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", password="bob-pass-1")


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the messages below are the msgids


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def alice_list(alice):
    watchlist = create_watchlist(alice, "반도체")
    for code in ("005930", "000660", "AAPL"):
        add_symbol(watchlist, Symbol.objects.get(code=code))
    return watchlist


def order(watchlist: Watchlist) -> list[str]:
    return [item.symbol.code for item in watchlist.items.select_related("symbol")]


def toasts(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


def follow(client, url, data=None):
    return client.post(url, data or {}, follow=True)


# --------------------------------------------------------------------------- the page


def test_first_visit_offers_to_create_a_list(alice_client):
    response = alice_client.get(reverse("market:watchlists"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "You have no watchlist yet" in page
    assert reverse("market:watchlist_create") in page


def test_index_opens_the_first_list(alice_client, alice_list):
    response = alice_client.get(reverse("market:watchlists"))
    assert response.status_code == 302
    assert response["Location"] == reverse("market:watchlist", args=[alice_list.pk])


def test_rows_are_live_cells_waiting_for_the_stream(alice_client, alice_list):
    page = alice_client.get(reverse("market:watchlist", args=[alice_list.pk])).content.decode()
    for code in ("005930", "000660", "AAPL"):
        for field in ("price", "change", "rate", "cum_volume"):
            assert f'data-live-symbol="{code}" data-live-field="{field}"' in page
    assert 'data-live-field="price" data-live-currency="USD">—</td>' in page
    assert 'data-live-field="price" data-live-currency="KRW">—</td>' in page
    assert page.index("삼성전자") < page.index("SK하이닉스") < page.index("애플")
    assert "3 of 50 symbols" in page
    assert 'data-symbol-search data-search-url="/market/symbols/search/"' in page


def test_nav_links_the_watchlists(alice_client):
    page = alice_client.get(reverse("market:watchlists")).content.decode()
    assert f'<a class="nav-link" href="{reverse("market:watchlists")}"' in page


def test_page_in_korean(alice_client, alice_list):
    page = alice_client.get(
        reverse("market:watchlist", args=[alice_list.pk]), HTTP_ACCEPT_LANGUAGE="ko"
    ).content.decode()
    assert "<h1>관심종목</h1>" in page and "전일대비" in page and "등락률" in page
    assert "3 / 50종목" in page and "삼성전자 위로 옮기기" in page


# ------------------------------------------------------------------------------ lists


def test_create_rename_move_and_delete_lists(alice_client, alice):
    response = follow(alice_client, reverse("market:watchlist_create"), {"name": "  배당  주 "})
    first = Watchlist.objects.get(owner=alice)
    assert first.name == "배당 주"
    assert "Watchlist “배당 주” created." in toasts(response)
    second = create_watchlist(alice, "미국")
    assert list(Watchlist.objects.owned_by(alice).values_list("name", flat=True)) == [
        "배당 주",
        "미국",
    ]
    follow(alice_client, reverse("market:watchlist_move", args=[second.pk]), {"direction": "up"})
    assert list(Watchlist.objects.owned_by(alice).values_list("name", flat=True)) == [
        "미국",
        "배당 주",
    ]
    follow(alice_client, reverse("market:watchlist_rename", args=[second.pk]), {"name": "US"})
    second.refresh_from_db()
    assert second.name == "US"
    confirm = alice_client.get(reverse("market:watchlist_delete", args=[second.pk]))
    assert confirm.status_code == 200 and "Delete “US”?" in confirm.content.decode()
    assert Watchlist.objects.filter(pk=second.pk).exists()  # GET only asks
    follow(alice_client, reverse("market:watchlist_delete", args=[second.pk]))
    assert not Watchlist.objects.filter(pk=second.pk).exists()


def test_list_names_are_checked(alice_client, alice, alice_list):
    url = reverse("market:watchlist_create")
    assert "Give the watchlist a name." in toasts(follow(alice_client, url, {"name": "   "}))
    too_long = follow(alice_client, url, {"name": "가" * 41})
    assert "A watchlist name has at most 40 characters." in toasts(too_long)
    taken = follow(alice_client, url, {"name": "반도체"})
    assert "You already have a watchlist with that name." in toasts(taken)
    rename = follow(
        alice_client, reverse("market:watchlist_rename", args=[alice_list.pk]), {"name": ""}
    )
    assert "Give the watchlist a name." in toasts(rename)
    assert list(Watchlist.objects.owned_by(alice).values_list("name", flat=True)) == ["반도체"]


def test_at_most_twenty_lists(alice_client, alice):
    for n in range(Watchlist.MAX_PER_USER):
        create_watchlist(alice, f"list {n}")
    response = follow(alice_client, reverse("market:watchlist_create"), {"name": "one more"})
    assert "You have 20 watchlists, the most allowed. Delete one to make room." in toasts(response)
    assert Watchlist.objects.owned_by(alice).count() == 20
    assert "the most allowed" in response.content.decode()  # and the form is gone


def test_names_are_per_person(alice, bob):
    create_watchlist(alice, "관심")
    create_watchlist(bob, "관심")  # no clash with alice's
    assert Watchlist.objects.filter(name="관심").count() == 2


# ---------------------------------------------------------------------------- symbols


def test_add_by_code_by_name_and_by_pick(alice_client, alice_list):
    url = reverse("market:watchlist_add", args=[alice_list.pk])
    response = follow(alice_client, url, {"symbol": "035720"})
    assert "Added 카카오 (035720)." in toasts(response)
    follow(alice_client, url, {"symbol": "셀트리온"})  # an exact name
    follow(alice_client, url, {"symbol": "spy", "market": "AMEX"})  # the autocomplete's pick
    assert order(alice_list) == ["005930", "000660", "AAPL", "035720", "068270", "SPY"]


def test_several_matches_show_candidates_and_add_nothing(alice_client, alice_list):
    url = reverse("market:watchlist_add", args=[alice_list.pk])
    response = alice_client.post(url, {"symbol": "ㅋㅋ"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Several symbols match. Pick one:" in page
    assert '<input type="hidden" name="symbol" value="323410">' in page  # 카카오뱅크
    assert order(alice_list) == ["005930", "000660", "AAPL"]


def test_refusals_change_nothing(alice_client, alice_list):
    url = reverse("market:watchlist_add", args=[alice_list.pk])
    cases = {
        "005930": "삼성전자 is already in this watchlist.",
        "없는종목": "No listed symbol matches “없는종목”. Check the code or the name.",
        "": "Type a code or a name to add.",
    }
    for typed, message in cases.items():
        assert message in toasts(follow(alice_client, url, {"symbol": typed}))
    bad_market = follow(alice_client, url, {"symbol": "AAPL", "market": "TOKYO"})
    assert bad_market.status_code == 200 and toasts(bad_market)
    assert order(alice_list) == ["005930", "000660", "AAPL"]


def test_unlisted_symbols_are_not_added_but_stay(alice_client, alice_list):
    Symbol.objects.filter(code="000660").update(is_active=False)
    url = reverse("market:watchlist_add", args=[alice_list.pk])
    Symbol.objects.filter(code="035720").update(is_active=False)
    assert "No listed symbol" in " ".join(toasts(follow(alice_client, url, {"symbol": "035720"})))
    page = alice_client.get(reverse("market:watchlist", args=[alice_list.pk])).content.decode()
    assert "SK하이닉스" in page and "Unlisted" in page


def test_at_most_fifty_symbols(alice_client, alice):
    watchlist = create_watchlist(alice, "full")
    for symbol in Symbol.objects.filter(market="KOSPI")[: Watchlist.MAX_SYMBOLS]:
        add_symbol(watchlist, symbol)
    response = follow(
        alice_client, reverse("market:watchlist_add", args=[watchlist.pk]), {"symbol": "AAPL"}
    )
    assert "A watchlist holds at most 50 symbols. Remove one or use another list." in toasts(
        response
    )
    assert watchlist.items.count() == 50
    assert "This watchlist holds 50 symbols, the most allowed." in response.content.decode()


def test_move_and_remove_rows_with_forms(alice_client, alice_list):
    items = list(alice_list.items.all())
    move = reverse("market:watchlist_item_move", args=[alice_list.pk, items[2].pk])
    response = alice_client.post(move, {"direction": "up"})
    assert response.status_code == 302
    assert order(alice_list) == ["005930", "AAPL", "000660"]
    alice_client.post(move, {"direction": "up"})
    alice_client.post(move, {"direction": "up"})  # already first: nothing moves
    assert order(alice_list) == ["AAPL", "005930", "000660"]
    remove = reverse("market:watchlist_item_remove", args=[alice_list.pk, items[0].pk])
    assert "Removed 삼성전자 (005930)." in toasts(follow(alice_client, remove))
    assert order(alice_list) == ["AAPL", "000660"]


def test_move_answers_json_for_the_script(alice_client, alice_list):
    items = list(alice_list.items.all())
    url = reverse("market:watchlist_item_move", args=[alice_list.pk, items[0].pk])
    response = alice_client.post(url, {"direction": "down"}, **JSON)
    assert response.status_code == 200
    assert json.loads(response.content) == {
        "ok": True,
        "order": [items[1].pk, items[0].pk, items[2].pk],
    }
    bad = alice_client.post(url, {"direction": "sideways"}, **JSON)
    assert bad.status_code == 400 and json.loads(bad.content)["ok"] is False
    assert order(alice_list) == ["000660", "005930", "AAPL"]


def test_get_does_not_change_anything(alice_client, alice_list):
    item = alice_list.items.first()
    for url in (
        reverse("market:watchlist_item_remove", args=[alice_list.pk, item.pk]),
        reverse("market:watchlist_item_move", args=[alice_list.pk, item.pk]),
        reverse("market:watchlist_add", args=[alice_list.pk]),
        reverse("market:watchlist_create"),
    ):
        assert alice_client.get(url).status_code == 405
    assert order(alice_list) == ["005930", "000660", "AAPL"]


# ---------------------------------------------------------------------------- privacy


def alice_urls(watchlist: Watchlist, item: WatchlistItem) -> list[tuple[str, str, dict]]:
    pk, item_pk = watchlist.pk, item.pk
    return [
        ("get", reverse("market:watchlist", args=[pk]), {}),
        ("get", reverse("market:watchlist_delete", args=[pk]), {}),
        ("post", reverse("market:watchlist_delete", args=[pk]), {}),
        ("post", reverse("market:watchlist_rename", args=[pk]), {"name": "bob's now"}),
        ("post", reverse("market:watchlist_move", args=[pk]), {"direction": "up"}),
        ("post", reverse("market:watchlist_add", args=[pk]), {"symbol": "035720"}),
        ("post", reverse("market:watchlist_item_remove", args=[pk, item_pk]), {}),
        ("post", reverse("market:watchlist_item_move", args=[pk, item_pk]), {"direction": "down"}),
    ]


def test_bob_gets_404_on_every_url_of_alices_lists(client, bob, alice_list):
    item = alice_list.items.first()
    client.force_login(bob)
    for method, url, data in alice_urls(alice_list, item):
        response = getattr(client, method)(url, data)
        assert response.status_code == 404, (method, url)
        assert "반도체" not in response.content.decode()
        assert response.status_code == getattr(client, method)(url, data, **JSON).status_code
    alice_list.refresh_from_db()
    assert alice_list.name == "반도체"
    assert order(alice_list) == ["005930", "000660", "AAPL"]
    page = client.get(reverse("market:watchlists")).content.decode()
    assert "반도체" not in page


def test_bob_cannot_reach_alices_row_through_his_own_list(client, bob, alice_list):
    bobs = create_watchlist(bob, "bob")
    item = alice_list.items.first()
    client.force_login(bob)
    for name in ("market:watchlist_item_remove", "market:watchlist_item_move"):
        response = client.post(reverse(name, args=[bobs.pk, item.pk]), {"direction": "down"})
        assert response.status_code == 404
    assert order(alice_list) == ["005930", "000660", "AAPL"]


def test_signed_out_people_are_sent_to_sign_in(client, alice_list):
    item = alice_list.items.first()
    for method, url, data in alice_urls(alice_list, item):
        response = getattr(client, method)(url, data)
        assert response.status_code == 302 and "/accounts/" in response["Location"]
    assert order(alice_list) == ["005930", "000660", "AAPL"]


def test_hostile_form_input_is_refused_with_a_message(alice_client, alice, alice_list):
    add = reverse("market:watchlist_add", args=[alice_list.pk])
    create = reverse("market:watchlist_create")
    move = reverse("market:watchlist_move", args=[alice_list.pk])
    for url, data in (
        (add, {"symbol": "005\x00930"}),
        (add, {"symbol": "가" * 41}),
        (create, {"name": "a\x00b"}),
        (move, {}),
        (move, {"direction": "x" * 10_000}),
    ):
        response = follow(alice_client, url, data)
        assert response.status_code == 200 and toasts(response), (url, data)
    assert list(Watchlist.objects.owned_by(alice).values_list("name", flat=True)) == ["반도체"]
    assert order(alice_list) == ["005930", "000660", "AAPL"]
    assert alice_client.get(reverse("market:watchlist", args=[10**12])).status_code == 404
