"""KIS answers EGW00201 ("too many calls per second") to every call for a while
(``Faults.rate_limit_all``): 3 s in ``make test``, 30 s with ``KISWEB_SOAK``.

Reads are retried a bounded number of times inside the rate limiter, then give up with
KIS's code; an order answered EGW00201 is never retried: KIS refused it before it reached
the book (the simulator does not book it), so the journal says ``rejected`` with that code,
and the count at the simulator equals the journal's accepted orders.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.urls import reverse

from kisweb.kis import KisError
from tests.figures import record
from tests.helpers import ticket_form
from trading.actions import place_order, read_kis
from trading.models import Order

from .conftest import SOAK, a_ticket

WINDOW_S = 30.0 if SOAK else 3.0
ORDER_TR = "VTTC0012U"
QUOTE_TR = "FHKST01010100"
READ_ATTEMPTS = 4  # KisClient's default: the first try and three retries


def test_orders_under_a_rate_limit_on_every_call_are_clear_rejections_never_resent(
    sim, traders, client
):
    [credential] = traders(1)
    key = credential.app_key
    sim.market.set_price("005930", 71000)
    assert place_order(credential.owner, credential, a_ticket()).order.status == "accepted"

    sim.faults.rate_limit_all = True
    ends = time.monotonic() + WINDOW_S
    sent = 0
    while sent == 0 or time.monotonic() < ends:
        order = place_order(credential.owner, credential, a_ticket(price=Decimal(69000))).order
        sent += 1
        assert (order.status, order.reject_code) == (Order.Status.REJECTED, "EGW00201")
    # Then a read, the switch still on: retried inside the limiter, then given up.
    with pytest.raises(KisError) as refusal:
        read_kis(credential, lambda kis: kis.quote("005930"))
    assert refusal.value.code == "EGW00201"
    read_calls = len(sim.stats.requests(appkey=key, tr_id=QUOTE_TR))
    # Then, the switch still on, the ticket itself: a clear page, nothing journaled or sent.
    client.force_login(credential.owner)
    journal_rows = Order.objects.count()
    page = client.post(reverse("trading:order_ticket"), ticket_form(), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 400
    assert "EGW00201" in page.content.decode()
    assert Order.objects.count() == journal_rows
    switched_on_s = time.monotonic() - ends + WINDOW_S
    sim.faults.rate_limit_all = False

    started = time.monotonic()
    assert read_kis(credential, lambda kis: kis.quote("005930")).price == 71000
    recovered_s = time.monotonic() - started
    after = place_order(credential.owner, credential, a_ticket(price=Decimal(69900))).order
    assert after.status == Order.Status.ACCEPTED

    order_calls = sim.stats.requests(appkey=key, tr_id=ORDER_TR)
    refused_orders = [r for r in order_calls if r.msg_cd == "EGW00201"]
    assert len(refused_orders) == sent  # one call per order: none was retried
    accepted = Order.objects.filter(credential=credential, status=Order.Status.ACCEPTED).count()
    assert accepted == 2
    assert sim.stats.orders_received(key) == accepted  # no refused order reached the book
    assert len(sim.market.ledgers[key].orders) == accepted
    assert read_calls == READ_ATTEMPTS  # retried, but a bounded number of times
    record("faults", "rate limit on every call: orders sent for", WINDOW_S, "s")
    record("faults", "rate limit on every call: switched on for", round(switched_on_s, 2), "s")
    record(
        "faults",
        "rate limit on every call: orders sent / refused once each / booked",
        f"{sent} / {len(refused_orders)} / 0",
    )
    record(
        "faults",
        "rate limit on every call: journal accepted vs seen by the simulator",
        f"{accepted} / {sim.stats.orders_received(key)}",
    )
    record("faults", "rate limit on every call: calls at KIS for one read", read_calls)
    record(
        "faults",
        "rate limit on every call: time for the first read after it ends",
        round(recovered_s, 3),
        "s",
    )
