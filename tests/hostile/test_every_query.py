"""Generated hostile query strings and path arguments to every route of the URL
configuration: junk in each parameter the view reads (and in some it does not), ids
beyond PostgreSQL's bigint, NUL bytes, any UTF-8 in a path. The answer is always a clear
one and never a 500, and a GET changes no row.

``KISWEB_HOSTILE_EXAMPLES`` sets the cases per route (``make soak`` runs many more).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.figures import record

from . import strategies as gen
from .conftest import World
from .routes import GET_PARAMS, ROUTES, Route
from .rows import beyond_refusal_records, describe, diff, snapshot
from .visits import (
    ACCEPTS,
    CLEAR_ANSWERS,
    cases_for,
    client_for,
    fresh_visit,
    probe_status,
    rolled_back,
    world_for,
)

pytestmark = pytest.mark.django_db

# Query strings that once answered 500, tried first in every run.
FOUND_QUERIES: dict[str, list[dict[str, Any]]] = {
    "trading:order_list": [{"start": "0001-01-01"}, {"end": "9999-12-31"}],
    "trading:order_ticket": [
        {"symbol": "005930", "venue": "NASD"},
        {"market": "US", "symbol": "A\x00"},
    ],
}


def _query(route: Route, world: World) -> st.SearchStrategy[dict[str, Any]]:
    return gen.form_data(list(GET_PARAMS.get(route.name, ())), world)


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.id)
def test_any_query_string_is_a_clear_answer_and_changes_nothing(
    route, world, client, kis_endpoints
):
    tally: Counter = Counter()
    world = world_for(route, world, kis_endpoints)
    client = client_for(route, world, client)
    probe = probe_status(route, client)

    @cases_for(route)
    @given(url=gen.url(route, world), query=_query(route, world), accept=ACCEPTS)
    def visit(url, query, accept):
        tally["cases"] += 1
        fresh_visit(client)
        with rolled_back():
            before = snapshot()
            response = client.get(url, query, HTTP_ACCEPT=accept, HTTP_ACCEPT_LANGUAGE="ko")
            if probe is not None:
                assert response.status_code == probe
            else:
                assert response.status_code in CLEAR_ANSWERS, (url, query, response.status_code)
            changes = beyond_refusal_records(diff(before, snapshot()))
            assert changes == {}, f"GET {url} {query!r} changed {describe(changes)}"

    for query in FOUND_QUERIES.get(route.name, []):
        visit = example(url=gen.real_url(route, world), query=query, accept="text/html")(visit)
    visit()
    record("hostile input", f"{route.name} generated query strings", tally["cases"])
