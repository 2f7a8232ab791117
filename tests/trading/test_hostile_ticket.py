"""Generated hostile posts to the order ticket: whatever the fields hold, the answer is a
form with a message or one accepted order — never a 500, and never an order the simulator
saw that the journal did not (or the other way round).

``KISWEB_HOSTILE_EXAMPLES`` sets how many cases (``make soak`` runs thousands).
"""

from __future__ import annotations

import os

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.helpers import ticket_form
from trading.models import Order

from .conftest import orders_at_sim

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("KISWEB_HOSTILE_EXAMPLES", "40"))

# What a careless or hostile browser could put in any field.
JUNK = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=8),
    st.sampled_from(
        ["", " ", "0", "-1", "1e9", "NaN", "Infinity", "1,000", "７１０００", "71000.5",
         "9" * 40, "\x00", "' OR 1=1 --", "<script>", "KRX\n", "１", "0x10", "+1"]
    ),
)  # fmt: skip
# Valid values, so that some cases get past the first field and test the later checks.
VALID = {
    "market": ["KRX", "US"],
    "venue": ["KRX", "NXT", "SOR", "NASD"],
    "symbol": ["005930", "000660", "AAPL", "999999"],
    "side": ["buy", "sell"],
    "order_type": ["00", "01", "03", "05", "07", "31"],
    "price": ["70000", "71000", "70950", "1.00"],
    "quantity": ["1", "2", "100000"],
    "confirmed": ["on", ""],
}


def field(name: str) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(VALID[name]), JUNK)


# Each field is left as a valid ticket has it, or replaced: most cases change a few fields.
POSTS = st.fixed_dictionaries(
    {},
    optional={**{name: field(name) for name in VALID}, "extra": JUNK, "idempotency_key": JUNK},
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(POSTS)
def test_any_post_is_a_message_or_one_order(sim, credential, alice_client, fields):
    sim.market.set_price("005930", 71000)
    data = ticket_form(**fields)
    before = Order.objects.count()
    sent_before = orders_at_sim(sim, credential)

    response = alice_client.post(reverse("trading:order_ticket"), data)

    assert response.status_code in (200, 302, 400), response.status_code
    new = list(Order.objects.order_by("-created_at")[: Order.objects.count() - before])
    sent = orders_at_sim(sim, credential) - sent_before
    if new:
        # Valid: one journal row, sent once, its page shown.
        (order,) = new
        event("an order was sent")
        assert response.status_code == 302
        assert response["Location"] == order.get_absolute_url()
        assert sent == 1 and order.status != Order.Status.PENDING_SEND
    elif response.status_code == 302:
        # The same idempotency key again: the first order's page, nothing sent.
        first = Order.objects.get(owner=credential.owner, idempotency_key=data["idempotency_key"])
        assert response["Location"] == first.get_absolute_url()
        assert sent == 0
    else:
        # Refused on the form: said in words, nothing journaled, nothing sent.
        event("refused on the form")
        assert sent == 0
        assert response.status_code == 400, response.status_code
        assert 'class="errorlist' in response.content.decode()
