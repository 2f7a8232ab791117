"""What a careless or hostile browser sends: for each field a value the form takes,
sometimes, and junk otherwise; fields missing, repeated or made up; junk in the path."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.tokens import default_token_generator
from django.urls import NoReverseMatch, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from hypothesis import strategies as st

from tests.conftest import ALICE_PASSWORD

from .conftest import World
from .routes import Route

NEW_PASSWORD = "Harbour-Lantern-4187"
# The order ticket's values (as tests/trading/test_hostile_ticket.py posts them).
TICKET_VALID = {
    "market": ["KRX", "US"],
    "venue": ["KRX", "NXT", "SOR", "NASD"],
    "side": ["buy", "sell"],
    "order_type": ["00", "01", "03", "05", "07", "31"],
    "price": ["70000", "71000", "70950", "1.00"],
    "quantity": ["1", "2", "100000"],
    "confirmed": ["on", ""],
}
# The ticket test's junk and more: what overflows a column, a number parser or a bigint, what
# reads as markup or SQL, what a phone keyboard types.
JUNK = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=8),
    st.sampled_from(
        ["", " ", "0", "-1", "1e9", "Infinity", "1,000", "７１０００", "71000.5", "9" * 40,
         "\x00", "' OR 1=1 --", "<script>", "KRX\n", "１", "0x10", "+1",
         "1e999", "-1e999", "-0", "-99999999999999999999", "99999999999999999999",
         "９９９", "٣", "NaN", "-Infinity", "\x00\x00", "a\x00b", "\u202e", "\ufeff",
         "\r\n", "%00", "'; DROP TABLE accounts_credential; --", "<img src=x onerror=1>",
         "{{ 7*7 }}", "../../etc/passwd", "x" * 5000, "가" * 300, "\U0001f4a9" * 20,
         "0001-01-01", "9999-12-31", "2026-02-30", "true", "None", "[]"]
    ),
)  # fmt: skip


def valid_values(world: World) -> dict[str, list[str]]:
    """Values each form would take (some only in some cases: a taken name, a wrong code)."""
    alice = world.alice
    return {
        **TICKET_VALID,
        "label": ["새 계좌", "Second paper", world.credential.label],
        "environment": ["paper", "real"],
        "app_key": ["PSa" + "k" * 33],
        "app_secret": ["s" * 180],
        "account_number": ["50012345-01", "5001234501"],
        "hts_id": ["alice01"],
        "is_enabled": ["on", ""],
        "credential": [str(world.credential.pk), str(world.bob_credential.pk)],
        "next": ["/", "/trading/orders/", "//evil.example/", "https://evil.example/", "home"],
        "otp_token": ["123456", "000000"],
        "username": ["alice", "bob", "newcomer"],
        "email": [alice.email, "newcomer@example.org"],
        "password": [ALICE_PASSWORD, "not-her-password"],
        "old_password": [ALICE_PASSWORD],
        "password1": [NEW_PASSWORD],
        "password2": [NEW_PASSWORD],
        "new_password1": [NEW_PASSWORD, "short"],
        "new_password2": [NEW_PASSWORD],
        "name": ["새 목록", "관심 1", "  Tech   stocks "],
        "symbol": ["005930", "000660", "삼성", "삼성전자", "AAPL", "999999"],
        "market": ["", "KRX", "US", "KOSPI", "NASD"],
        "direction": ["up", "down"],
        "language": ["ko", "en", "xx"],
        "idempotency_key": [world.order.idempotency_key],
        "commission_pct": ["0.015", "0", "5", "5.1"],
        "kospi_sell_tax_pct": ["0.2"],
        "kosdaq_sell_tax_pct": ["0.2"],
        "us_commission_pct": ["0.25"],
        "us_sell_fee_pct": ["0.00278"],
        "reset": ["1"],
        "price": [*TICKET_VALID["price"], "66000", "64000"],
        # Query parameters.
        "page": ["1", "2", "last", "0"],
        "start": ["2026-01-01", "0001-01-01", "9999-12-31"],
        "end": ["2026-12-31", "9999-12-31", "0001-01-01"],
        "status": ["accepted", "unknown", ""],
        "export": ["csv"],
        "code": ["005930", "000660", "AAPL"],
        "interval": ["day", "minute"],
        "q": ["삼성", "ㅅㅅ", "005", "A"],
    }


def _fresh_key() -> st.SearchStrategy[str]:
    return st.uuids().map(lambda uuid: uuid.hex)


def field_value(name: str, world: World) -> st.SearchStrategy[str | list[str]]:
    good = valid_values(world).get(name, [])
    options: list[st.SearchStrategy[str]] = [JUNK]
    if good:
        options.insert(0, st.sampled_from(good))
    if name == "idempotency_key":
        options.insert(0, _fresh_key())
    one = st.one_of(*options)
    # Most often one value; sometimes the field twice (the last one is what Django reads).
    return st.one_of(one, one, one, st.lists(one, min_size=2, max_size=3))


def form_data(names: list[str], world: World) -> st.SearchStrategy[dict[str, Any]]:
    """Each field present or missing, valid or junk, plus fields no form has."""
    fields = st.fixed_dictionaries({}, optional={name: field_value(name, world) for name in names})
    extra = st.dictionaries(st.text(min_size=1, max_size=12), JUNK, max_size=2)
    return st.tuples(fields, extra).map(lambda pair: {**pair[1], **pair[0]})


def paired(data: dict[str, Any]) -> dict[str, Any]:
    """A person types the new password twice; make the copy match the first, as typed."""
    for first, second in (("password1", "password2"), ("new_password1", "new_password2")):
        if first in data and second in data:
            data[second] = data[first]
    return data


def _real_arguments(route: Route, world: World) -> dict[str, list[Any]]:
    alice = world.alice
    kind = route.owner_kind
    if kind == "credential":
        pks: list[Any] = [world.credential.pk, world.bob_credential.pk]
    elif kind == "order":
        pks = [world.order.pk]
    else:
        pks = [world.watchlist.pk, world.other_watchlist.pk, world.bobs_watchlist.pk]
    return {
        "pk": pks,
        "item_pk": [world.item.pk],
        "code": ["005930", "000660", "AAPL", "aapl"],
        "uidb64": [urlsafe_base64_encode(force_bytes(alice.pk))],
        "token": [default_token_generator.make_token(alice), "set-password"],
    }


_JUNK_BY_CONVERTER: dict[str, st.SearchStrategy[Any]] = {
    # Bigger than PostgreSQL's bigint and SQLite's INTEGER.
    "IntConverter": st.one_of(st.integers(0, 2**63 + 10), st.integers(0, 10**30)),
    "UUIDConverter": st.uuids(),
    "StringConverter": st.text(
        alphabet=st.characters(codec="utf-8", exclude_characters="/"), min_size=1, max_size=30
    ),
    "PathConverter": st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=30),
}


def url(route: Route, world: World) -> st.SearchStrategy[str]:
    """The route's URL, its path arguments real (alice's, bob's) or junk."""
    real = _real_arguments(route, world)
    arguments = {
        arg: st.one_of(st.sampled_from(real[arg]), _JUNK_BY_CONVERTER[converter])
        for arg, converter in route.converters
    }
    return st.fixed_dictionaries(arguments).map(lambda kwargs: _reverse(route, kwargs)).filter(bool)


def _reverse(route: Route, kwargs: dict[str, Any]) -> str:
    try:
        return reverse(route.name, kwargs=kwargs or None)
    except NoReverseMatch:  # a value the converter would never match ("." in a str, say)
        return ""


def real_url(route: Route, world: World) -> str:
    """The route's URL with alice's own objects in the path."""
    real = _real_arguments(route, world)
    return _reverse(route, {arg: real[arg][0] for arg, _converter in route.converters})
