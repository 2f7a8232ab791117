"""The KRX calendar: chk-holiday (CTCA0903R) stored per date, refreshed once a day and from
the admin, consulted by the ticket; paper falls back to the table, else weekdays only."""

from __future__ import annotations

import datetime as dt
import time
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation

from accounts.actions import select_credential, verify_credential
from kisweb.kis import NotSupported
from tests.helpers import post_ticket
from trading import calendar, rules
from trading.models import MarketDay, Order

from .conftest import orders_at_sim

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 12, 21)
CHRISTMAS = dt.datetime(2026, 12, 25, 10, 0, tzinfo=rules.KST)  # a Friday, KRX closed
BOXING_DAY_MONDAY = dt.datetime(2026, 12, 28, 10, 0, tzinfo=rules.KST)


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def real(sim, alice, make_credential):
    credential = make_credential(alice, environment="real", label="Alice real")
    assert verify_credential(alice, credential).ok
    credential.refresh_from_db()
    return credential


def _store_day(day: dt.date, *, is_open: bool) -> MarketDay:
    """A calendar row as a refresh stores it: every flag of the day alike."""
    return MarketDay.objects.create(
        day=day,
        is_open=is_open,
        is_business_day=is_open,
        is_trading_day=is_open,
        is_settlement_day=is_open,
    )


def holiday_calls(sim) -> int:
    return sum(1 for r in sim.stats.requests() if r.path.endswith("/chk-holiday"))


def test_refresh_stores_one_row_per_date_from_kis(sim, real):
    before = holiday_calls(sim)
    assert calendar.refresh(real, MONDAY) == 30
    assert holiday_calls(sim) - before == 2  # both pages
    assert MarketDay.objects.count() == 30
    christmas = MarketDay.objects.get(day=dt.date(2026, 12, 25))
    assert (christmas.is_open, christmas.is_business_day, christmas.weekday_code) == (
        False,
        False,
        "06",
    )
    year_end = MarketDay.objects.get(day=dt.date(2026, 12, 31))
    assert (year_end.is_open, year_end.is_business_day) == (False, True)
    assert calendar.day_status(dt.date(2026, 12, 25)) == calendar.DayStatus(
        dt.date(2026, 12, 25), False, calendar.KIS
    )
    assert calendar.day_status(dt.date(2026, 12, 24)).open
    # A second refresh updates in place: still one row per date.
    calendar.refresh(real, MONDAY)
    assert MarketDay.objects.count() == 30


def test_without_a_row_only_weekends_are_closed_and_the_note_says_so(db):
    weekday = calendar.day_status(dt.date(2026, 12, 25))
    assert (weekday.open, weekday.source) == (True, calendar.WEEKDAYS)
    with translation.override("en"):
        assert "only weekends count as closed" in weekday.note
    with translation.override("ko"):
        assert "주말만 휴장으로 봅니다" in weekday.note
    assert not calendar.day_status(dt.date(2026, 12, 26)).open


def test_paper_cannot_ask_and_nothing_is_sent(sim, credential):
    before = holiday_calls(sim)
    with pytest.raises(NotSupported):
        calendar.refresh(credential, MONDAY)
    calendar.refresh_daily(credential)  # quietly does nothing for paper
    assert holiday_calls(sim) == before
    assert MarketDay.objects.count() == 0


def test_daily_refresh_asks_kis_once_a_day(sim, real):
    before = holiday_calls(sim)
    calendar.refresh_daily(real)
    calendar.refresh_daily(real)
    assert holiday_calls(sim) - before == 2  # one refresh of two pages
    assert MarketDay.objects.filter(day=calendar.kst_today()).exists()


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "The market is closed today (KRX holiday). Orders open on the next trading day."),
        ("ko", "오늘은 KRX 휴장일입니다. 다음 거래일에 주문할 수 있습니다."),
    ],
)
def test_ticket_refuses_a_krx_holiday_from_the_calendar(
    sim, credential, alice_client, settings, monkeypatch, language, message
):
    settings.KISWEB_MARKET_HOURS = "krx"
    monkeypatch.setattr(rules, "kst_now", lambda: CHRISTMAS)
    _store_day(CHRISTMAS.date(), is_open=False)
    response = post_ticket(alice_client, language)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Order.objects.count() == 0
    assert orders_at_sim(sim, credential) == 0


def test_without_the_calendar_a_weekday_holiday_counts_as_open_and_the_page_says_so(
    sim, credential, alice_client, settings, monkeypatch
):
    settings.KISWEB_MARKET_HOURS = "krx"
    monkeypatch.setattr(rules, "kst_now", lambda: CHRISTMAS)
    page = alice_client.get(reverse("trading:order_ticket")).content.decode()
    assert "only weekends count as closed" in page
    assert "Regular session" in page


def test_the_ticket_refreshes_the_calendar_with_a_real_credential(
    sim, alice, real, alice_client, settings, monkeypatch
):
    settings.KISWEB_MARKET_HOURS = "krx"
    select_credential(alice, real)
    monkeypatch.setattr(calendar, "kst_today", lambda: CHRISTMAS.date())
    monkeypatch.setattr(rules, "kst_now", lambda: CHRISTMAS)
    page = alice_client.get(reverse("trading:order_ticket")).content.decode()
    assert MarketDay.objects.filter(day=CHRISTMAS.date(), is_open=False).exists()
    assert "The market is closed today (KRX holiday)." in page
    assert "from KIS&#x27;s holiday calendar" in page or "from KIS's holiday calendar" in page
    monkeypatch.setattr(rules, "kst_now", lambda: BOXING_DAY_MONDAY)
    page = alice_client.get(reverse("trading:order_ticket")).content.decode()
    assert "Regular session" in page


@pytest.fixture
def staff(alice):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    return alice


def test_admin_refreshes_the_calendar_with_its_own_real_credential(sim, staff, real, client):
    client.force_login(staff)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    listing = client.get(reverse("admin:trading_marketday_changelist"))
    assert listing.status_code == 200
    assert "Refresh the calendar from KIS" in listing.content.decode()
    response = client.post(reverse("admin:trading_marketday_refresh"), follow=True)
    assert response.status_code == 200
    assert MarketDay.objects.count() == 30
    assert "Stored 30 days of the KRX calendar from KIS." in response.content.decode()
    assert real.app_key not in response.content.decode()
    assert client.get(reverse("admin:trading_marketday_refresh")).status_code == 405


def test_admin_without_a_real_credential_is_told_what_to_do(sim, staff, client):
    client.force_login(staff)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    before = holiday_calls(sim)
    response = client.post(reverse("admin:trading_marketday_refresh"), follow=True)
    assert "add an enabled real credential" in response.content.decode()
    assert MarketDay.objects.count() == 0
    assert holiday_calls(sim) == before


def test_non_staff_cannot_refresh(sim, bob, client):
    client.force_login(bob)
    response = client.post(reverse("admin:trading_marketday_refresh"))
    assert response.status_code in (302, 403)
    assert MarketDay.objects.count() == 0


def test_a_refresh_from_the_admin_replaces_the_status_kept_for_the_day(
    sim, staff, real, client, alice_client, settings, monkeypatch
):
    settings.KISWEB_MARKET_HOURS = "krx"
    monkeypatch.setattr(calendar, "kst_today", lambda: MONDAY)
    monkeypatch.setattr(rules, "kst_now", lambda: CHRISTMAS)
    page = alice_client.get(reverse("trading:order_ticket")).content.decode()
    assert "only weekends count as closed" in page  # no row yet: kept as a weekday
    client.force_login(staff)
    client.post(reverse("admin:trading_marketday_refresh"))
    page = alice_client.get(reverse("trading:order_ticket")).content.decode()
    assert "The market is closed today (KRX holiday)." in page


def test_a_deleted_row_is_forgotten_at_once(db):
    day = _store_day(CHRISTMAS.date(), is_open=False)
    assert calendar.day_status(CHRISTMAS.date()).source == calendar.KIS
    day.delete()
    assert calendar.day_status(CHRISTMAS.date()) == calendar.DayStatus(
        CHRISTMAS.date(), True, calendar.WEEKDAYS
    )


def test_the_next_kst_day_is_not_served_the_status_of_the_day_before(
    sim, credential, alice_client, settings, monkeypatch
):
    settings.KISWEB_MARKET_HOURS = "krx"
    for day, is_open in (
        (CHRISTMAS.date() - dt.timedelta(days=1), True),
        (CHRISTMAS.date(), False),
    ):
        _store_day(day, is_open=is_open)
    midnight = CHRISTMAS.replace(hour=0, minute=0)
    monkeypatch.setattr(rules, "kst_now", lambda: midnight - dt.timedelta(minutes=1))
    page = alice_client.get(reverse("trading:order_ticket")).content.decode()
    assert "The market is closed today" not in page
    monkeypatch.setattr(rules, "kst_now", lambda: midnight + dt.timedelta(minutes=1))
    page = alice_client.get(reverse("trading:order_ticket")).content.decode()
    assert "The market is closed today (KRX holiday)." in page


def test_a_change_made_by_another_process_is_seen_once_the_ttl_has_run_out(db, monkeypatch):
    from django.core.cache.backends import locmem

    _store_day(CHRISTMAS.date(), is_open=True)
    assert calendar.day_status(CHRISTMAS.date()).open
    # Another process's save sends no signal here: this one keeps its answer for the TTL.
    MarketDay.objects.filter(day=CHRISTMAS.date()).update(is_open=False)
    assert calendar.day_status(CHRISTMAS.date()).open
    later = time.time() + calendar.DAY_TTL_S + 1
    monkeypatch.setattr(locmem, "time", SimpleNamespace(time=lambda: later))
    assert not calendar.day_status(CHRISTMAS.date()).open
