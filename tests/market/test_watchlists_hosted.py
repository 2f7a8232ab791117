"""Hosted mode: two requests racing for a watchlist's last place (PostgreSQL row locks)."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connections

from market.models import Symbol, Watchlist
from market.symbols import load_bundled
from market.watchlists import WatchlistError, add_symbol, create_watchlist

pytestmark = [
    pytest.mark.hosted,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="SQLite locks whole tables: the race needs PostgreSQL (the hosted pass)",
    ),
]


def race(*jobs):
    errors, barrier = [], threading.Barrier(len(jobs))

    def run(job):
        barrier.wait()
        try:
            job()
        except WatchlistError as error:
            errors.append(error.message)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return errors


def test_the_last_place_goes_to_one_request(django_user_model):
    load_bundled()
    owner = django_user_model.objects.create_user("racer", password="racer-pass-1")
    watchlist = create_watchlist(owner, "full")
    symbols = list(Symbol.objects.filter(market="KOSPI")[: Watchlist.MAX_SYMBOLS + 1])
    for symbol in symbols[: Watchlist.MAX_SYMBOLS - 1]:
        add_symbol(watchlist, symbol)
    errors = race(
        lambda: add_symbol(watchlist, symbols[-2]), lambda: add_symbol(watchlist, symbols[-1])
    )
    assert watchlist.items.count() == Watchlist.MAX_SYMBOLS
    assert len(errors) == 1 and "50" in errors[0]  # the limit, in the active language


def test_the_twentieth_list_goes_to_one_request(django_user_model):
    owner = django_user_model.objects.create_user("racer2", password="racer-pass-1")
    for n in range(Watchlist.MAX_PER_USER - 1):
        create_watchlist(owner, f"list {n}")
    errors = race(lambda: create_watchlist(owner, "a"), lambda: create_watchlist(owner, "b"))
    assert Watchlist.objects.filter(owner=owner).count() == Watchlist.MAX_PER_USER
    assert len(errors) == 1
