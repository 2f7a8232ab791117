"""Symbol search: code, prefix, partial and initial-consonant (초성) matching, ranked; the
JSON endpoint behind the autocomplete and the page that works without JavaScript."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from market.models import Symbol
from market.symbols import initial_of, load_bundled, search, search_keys

pytestmark = pytest.mark.django_db


@pytest.fixture
def master():
    load_bundled()


def codes(query: str) -> list[str]:
    return [symbol.code for symbol in search(query)]


def names(query: str) -> list[str]:
    return [symbol.name for symbol in search(query)]


def test_initials_are_one_character_for_one():
    assert [initial_of(c) for c in "삼성전자"] == ["ㅅ", "ㅅ", "ㅈ", "ㅈ"]
    assert initial_of("까") == "ㄲ" and initial_of("힣") == "ㅎ" and initial_of("A") == "A"
    assert search_keys("LG 에너지솔루션", "LG Energy") == (
        "lg에너지솔루션",
        "lgㅇㄴㅈㅅㄹㅅ",
        "lgenergy",
    )


def test_exact_code_comes_first_then_code_prefix(master):
    assert codes("005930")[0] == "005930"
    found = codes("00593")
    assert found[:2] == ["005930", "005935"]  # 삼성전자, 삼성전자우: both start with the digits


def test_initial_consonants_find_the_name(master):
    assert names("ㅅㅅㅈㅈ") == ["삼성전자", "삼성전자우"]  # exact initials, then a prefix
    assert names("ㅅㅅㅈㅈㅇ") == ["삼성전자우"]
    found = names("ㅋㅋㅇ")
    assert found[0] == "카카오" and "카카오뱅크" in found and "카카오페이" in found


def test_mixed_syllables_and_consonants(master):
    found = names("ㅅ성")
    assert {"삼성전자", "삼성SDI", "삼성물산", "삼성생명"} <= set(found)
    for name in found:
        key = search_keys(name, "")[0]
        at = key.find("성")
        assert at >= 1 and initial_of(key[at - 1]) == "ㅅ", name
    assert set(names("삼ㅅㅈ")) == {"삼성전자", "삼성전자우", "삼성전기", "삼성증권", "삼성중공업"}
    assert names("ㅎ대차") == ["현대차"]


def test_prefix_ranks_before_partial_and_shorter_first(master):
    found = names("삼성")
    assert [len(name) for name in found] == sorted(len(name) for name in found)
    assert all(name.startswith("삼성") for name in found)
    partial = names("전자")
    assert set(partial[:2]) == {"LG전자", "삼성전자"}  # neither starts with 전자: shorter first
    assert "삼성전자우" in partial


def test_exact_name_beats_prefix(master):
    assert names("카카오")[0] == "카카오"
    assert names("LG")[0] == "LG"


def test_spaces_and_case_do_not_matter(master):
    assert names("삼성 전자")[0] == "삼성전자"
    assert names("kodex 200")[0] == "KODEX 200"
    assert names("sk하이") == ["SK하이닉스"]


def test_us_by_ticker_korean_and_english_name(master):
    assert codes("aapl")[0] == "AAPL"
    assert codes("AAPL")[0] == "AAPL"
    assert "AAPL" in codes("apple")
    assert codes("애플") == ["AAPL"]
    assert "NVDA" in codes("ㅇㅂㄷㅇ")
    assert codes("microsoft") == ["MSFT"]


def test_krx_before_us_at_the_same_rank(master):
    found = search("ㅋ")  # 카카오... and 코카콜라, 코스트코 (US), all name prefixes
    kinds = [symbol.is_domestic for symbol in found if symbol.initials.startswith("ㅋ")]
    assert True in kinds and False in kinds
    assert kinds == sorted(kinds, reverse=True)


def test_unlisted_symbols_are_not_offered(master):
    Symbol.objects.filter(code="005930").update(is_active=False)
    assert "005930" not in codes("005930")
    assert "삼성전자" not in names("ㅅㅅㅈㅈ")


def test_wildcards_are_literal(master):
    assert search("%") == [] and search("_") == []
    assert set(names("S&P")) >= {"TIGER 미국S&P500", "SPDR S&P 500 ETF", "뱅가드 S&P 500 ETF"}


def test_nothing_for_blank_or_unknown(master):
    assert search("") == [] and search("   ") == []
    assert search("없는종목이름") == []


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=60))
def test_any_text_is_a_query(master, text):
    found = search(text)
    assert len(found) <= 20
    assert all(symbol.is_active for symbol in found)


# ----------------------------------------------------------------------- the endpoints


@pytest.fixture
def carol_client(client, django_user_model):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    user = django_user_model.objects.create_user("carol", password="carol-pass-1")
    client.force_login(user)
    return client


def test_json_endpoint_shape(master, carol_client):
    response = carol_client.get(reverse("market:symbol_search"), {"q": "ㅅㅅㅈㅈ"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert body == {
        "query": "ㅅㅅㅈㅈ",
        "results": [
            {
                "code": "005930",
                "market": "KOSPI",
                "market_label": "KOSPI",
                "name": "삼성전자",
                "name_en": "",
                "kind": "stock",
                "currency": "KRW",
            },
            {
                "code": "005935",
                "market": "KOSPI",
                "market_label": "KOSPI",
                "name": "삼성전자우",
                "name_en": "",
                "kind": "stock",
                "currency": "KRW",
            },
        ],
    }
    us = json.loads(carol_client.get(reverse("market:symbol_search"), {"q": "AAPL"}).content)
    assert us["results"][0]["market"] == "NASD" and us["results"][0]["market_label"] == "NASDAQ"
    assert us["results"][0]["currency"] == "USD"


def test_json_endpoint_with_odd_input(master, carol_client):
    url = reverse("market:symbol_search")
    assert json.loads(carol_client.get(url).content) == {"query": "", "results": []}
    long = carol_client.get(url, {"q": "삼" * 500})
    assert long.status_code == 200 and json.loads(long.content)["query"] == "삼" * 40
    assert carol_client.get(url, {"q": "\x00<script>"}).status_code == 200
    assert carol_client.post(url, {"q": "x"}).status_code == 405


def test_search_needs_a_signed_in_person(master, client):
    for name in ("market:symbol_search", "market:search"):
        response = client.get(reverse(name), {"q": "삼성"})
        assert response.status_code == 302 and "/accounts/" in response["Location"]


def test_search_page_without_javascript(master, carol_client):
    page = carol_client.get(reverse("market:search"), {"q": "ㅋㅋㅇ"}).content.decode()
    assert "카카오뱅크" in page and "<code>323410</code>" in page
    page = carol_client.get(reverse("market:search"), {"q": "<b>없음</b>"}).content.decode()
    assert "&lt;b&gt;없음&lt;/b&gt;" in page and "<b>없음</b>" not in page
