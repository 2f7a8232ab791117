"""Hosted mode: search and the master's upsert on PostgreSQL (run by `make test` with
KISWEB_MODE=hosted), where LIKE is case-sensitive and text refuses NUL."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from market.models import Symbol
from market.symbols import load_bundled, search

pytestmark = [pytest.mark.hosted, pytest.mark.django_db]


@pytest.fixture
def master():
    load_bundled()


def test_search_on_postgresql(master):
    assert [s.name for s in search("ㅅㅅㅈㅈ")] == ["삼성전자", "삼성전자우"]
    assert search("aapl")[0].code == "AAPL"
    assert search("microsoft")[0].code == "MSFT"
    assert search("sk하이")[0].code == "000660"
    assert search("\x00") == [] and search("삼성\x00전자")[0].code == "005930"


def test_upsert_on_postgresql(master):
    again = load_bundled()
    assert again.created == 0 and again.updated == Symbol.objects.count()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=50))
def test_any_text_is_a_query_on_postgresql(master, text):
    assert len(search(text)) <= 20
