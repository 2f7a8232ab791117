"""How each generated case is sent: as whom, in which world, how many of them, and the
answers that count as clear."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from django.core import mail
from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from .conftest import World
from .routes import PROBES, Route

EXAMPLES = int(os.environ.get("KISWEB_HOSTILE_EXAMPLES", "10"))
# Every answer of these waits for KIS, whose paper host takes 2 calls a second (the client
# keeps to it): a quarter of the cases keeps ``make test`` fast; ``make soak`` runs many.
KIS_BOUND = {"trading:order_ticket", "trading:order_list", "trading:portfolio"}
AMEND_ROUTES = {"trading:order_cancel", "trading:order_revise"}
# 429 is django-axes' answer to a sign-in after too many failures: a page that says so.
CLEAR_ANSWERS = {200, 204, 302, 400, 403, 404, 405, 429}
ACCEPTS = st.sampled_from(["text/html", "application/json", "*/*"])


def cases_for(route: Route) -> settings:
    if route.name in PROBES:
        # A probe reads no input, and each answer waits for its Redis and database checks.
        count = min(EXAMPLES, 2)
    elif route.name in KIS_BOUND:
        count = max(2, EXAMPLES // 4)
    else:
        count = EXAMPLES
    return settings(
        max_examples=count,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )


class _Rollback(Exception):
    pass


@contextmanager
def rolled_back() -> Iterator[None]:
    """Whatever the case did to the database is undone before the next one, so every
    case meets the same world."""
    try:
        with transaction.atomic():
            yield
            raise _Rollback
    except _Rollback:
        pass


def world_for(route: Route, world: World, sim) -> World:
    """A cancel or a revision needs an order KIS still holds open."""
    return world.with_resting_order(sim) if route.name in AMEND_ROUTES else world


def client_for(route: Route, world: World, client: Client) -> Client:
    """Alice for the signed-in routes; a stranger for the public ones."""
    if not route.public:
        client.force_login(world.alice)
        if route.name == "accounts:two_factor_setup":
            client.get(reverse(route.name))  # the pending device is made on the first visit
    return client


def probe_status(route: Route, client: Client) -> int | None:
    """A probe's answer without any input: with junk it must be the same."""
    return client.get(reverse(route.name)).status_code if route.name in PROBES else None


def fresh_visit(client: Client) -> None:
    """No message or mail left over from the previous case."""
    client.cookies.pop("messages", None)
    mail.outbox.clear()
