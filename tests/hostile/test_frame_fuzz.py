"""Generated hostile realtime frames: random bytes and text, wrong field counts, junk record
counts (``abc``, ``²``, thousands of digits), non-finite numbers, JSON control messages of
the wrong shape, PINGPONG variants and nesting deeper than the stack. The parser answers
each with events or ``MalformedFrame``; a live ``RealtimeSession`` drops them with a log
line, stays connected, and the next good frame still arrives.

``KISWEB_HOSTILE_EXAMPLES`` sets how many frames per property (``make soak``: thousands).
"""

from __future__ import annotations

import json
import logging
import os
import random
from collections import Counter
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kisweb.kis.realtime import (
    ConnectionState,
    FrameParser,
    MalformedFrame,
    OrderBook,
    Trade,
)
from kisweb.kis.realtime.frames import SCHEMAS
from tests.figures import record
from tests.kis.conftest import make_client  # noqa: F401  (fixtures for the session test)
from tests.kis.frame_builders import book_record, frame, trade_record
from tests.kis.realtime.conftest import DEADLINE_S, next_event, open_session, sim  # noqa: F401

EXAMPLES = int(os.environ.get("KISWEB_HOSTILE_EXAMPLES", "200"))
HOSTILE = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

TR_IDS = st.one_of(st.sampled_from(sorted(SCHEMAS)), st.text(max_size=10))
COUNTS = st.one_of(
    st.integers(min_value=0, max_value=5).map(lambda n: f"{n:03d}"),
    st.sampled_from(["", "abc", "²", "٣", "１", "-1", " 1", "1 ", "0x1", "1e3", "9" * 5000,
                     "99999999999999999999", "000", "+1"]),
)  # fmt: skip
FIELD_TEXTS = st.one_of(
    st.text(alphabet=st.characters(blacklist_characters="^|"), max_size=8),
    st.sampled_from(["NaN", "sNaN", "Infinity", "-Infinity", "1e999999999", "1E-999999999",
                     "9" * 5000, "²", "", "  ", "0x10", "1_000", "-0"]),
)  # fmt: skip


def finite_event(event: object) -> bool:
    """Every number an event carries reads as a finite, bounded value."""
    if isinstance(event, Trade):
        numbers = [event.price, event.change, event.change_rate, event.open, event.high,
                   event.low, event.best_ask, event.best_bid]  # fmt: skip
        return all(n.is_finite() and abs(n.adjusted()) <= 30 for n in numbers)
    if isinstance(event, OrderBook):
        return all(p.is_finite() for p in (*event.ask_prices, *event.bid_prices)) and all(
            isinstance(q, int) for q in (*event.ask_quantities, *event.bid_quantities)
        )
    return True


outcomes: Counter[str] = Counter()


def parse_one(text: str) -> None:
    try:
        events = FrameParser().parse(text)
    except MalformedFrame:
        outcomes["dropped"] += 1
        return
    outcomes["parsed"] += 1
    assert all(finite_event(event) for event in events), events


@HOSTILE
@given(st.binary(max_size=600))
def test_random_bytes_decoded_as_the_session_does_are_events_or_malformed(data):
    parse_one(data.decode("utf-8", "replace"))


@HOSTILE
@given(st.sampled_from(["0", "1", "2", "", "00"]), TR_IDS, COUNTS, st.text(max_size=300))
def test_any_header_and_payload_text_is_events_or_malformed(enc, tr_id, count, payload):
    parse_one(f"{enc}|{tr_id}|{count}|{payload}")


@HOSTILE
@given(st.sampled_from(sorted(SCHEMAS)), COUNTS, st.data())
def test_known_trs_with_wrong_field_counts_and_junk_fields_are_events_or_malformed(
    tr_id, count, data
):
    lengths = SCHEMAS[tr_id].lengths
    width = data.draw(st.one_of(st.sampled_from(lengths), st.integers(0, 140)))
    records = data.draw(st.integers(1, 3))
    fields = data.draw(st.lists(FIELD_TEXTS, min_size=width * records, max_size=width * records))
    parse_one(f"0|{tr_id}|{count}|{'^'.join(fields)}")


@HOSTILE
@given(
    st.integers(min_value=0, max_value=45), FIELD_TEXTS, st.sampled_from(["H0STCNT0", "H0STASP0"])
)
def test_one_junk_field_in_a_good_record_is_a_finite_event_or_malformed(index, text, tr_id):
    fields = trade_record() if tr_id == "H0STCNT0" else book_record()
    fields[index] = text
    parse_one(frame(tr_id, [fields]))


def test_non_finite_prices_are_malformed():
    """Decimal reads NaN and Infinity; a relay comparing them to zero raised later."""
    for text in ("NaN", "Infinity", "-Infinity", "sNaN", "1e999999999"):
        fields = trade_record()
        fields[2] = text
        try:
            FrameParser().parse(frame("H0STCNT0", [fields]))
        except MalformedFrame:
            continue
        raise AssertionError(f"a trade priced {text!r} parsed")


def test_a_superscript_or_endless_record_count_is_malformed():
    record_text = "^".join(trade_record())
    for count in ("²", "٣", "9" * 5000):
        try:
            FrameParser().parse(f"0|H0STCNT0|{count}|{record_text}")
        except MalformedFrame:
            continue
        raise AssertionError(f"count {count[:8]!r} parsed")


def test_zz_figures():
    """Runs after the properties above in this file (pytest keeps the file's order)."""
    record(
        "hostile input",
        "generated realtime frames: dropped / parsed",
        f"{outcomes['dropped']} / {outcomes['parsed']}",
        note="random bytes, random text, wrong field counts and record counts, junk fields",
    )
    assert outcomes["dropped"] + outcomes["parsed"] > 0


# -- a live session -------------------------------------------------------------------------


def garbage_frames(count: int, seed: int) -> list[str]:
    """Frames that must all be dropped: wrong counts, junk numbers, unknown TRs, bytes."""
    rng = random.Random(seed)
    good = "^".join(trade_record())
    made = [
        "0|H0STCNT0|abc|" + good,
        "0|H0STCNT0|²|" + good,
        "0|H0STCNT0|" + "9" * 5000 + "|" + good,
        "0|H0STCNT0|002|" + good,
        "0|H0STCNT0|001|" + good.replace("71500", "NaN", 1),
        "1|H0STCNI9|001|not base64 at all",
        "1|H0STCNI9|001|" + "QUJD" * 7,
        "0|H0STASP0|001|" + "^".join(["x"] * 62),
        "0|H0XXXXX0|001|1^2",
        "0|",
        "1",
    ]
    while len(made) < count:
        fields = trade_record()
        read = rng.choice([1, 2, 4, 5, 7, 8, 9, 10, 11, 12, 13])  # fields a Trade carries
        fields[read] = rng.choice(["NaN", "1O", "²", "x", "1e999999999", "Infinity"])
        cut = rng.randrange(1, 45)
        made.append(rng.choice([frame("H0STCNT0", [fields]), "0|H0STCNT0|001|" + good[:cut]]))
    return made[:count]


def odd_control_messages() -> list[str]:
    pingpong = {"header": {"tr_id": "PINGPONG", "datetime": "20261202093015"}}
    return [
        json.dumps({"header": {"tr_id": "PINGPONG"}, "body": 7}),
        json.dumps({**pingpong, "extra": [1, 2, 3]}),
        json.dumps({"header": {"tr_id": ["PINGPONG"]}}),
        json.dumps({"header": {"tr_id": None, "datetime": 5}}),
        json.dumps({"header": "PINGPONG"}),
        json.dumps({"body": {"rt_cd": "0"}}),
        json.dumps({"header": {}, "body": {"rt_cd": 0, "output": {"key": 1, "iv": []}}}),
        '{"header": {"tr_id": "PINGPONG"',
        "[" * 200_000,  # deeper than json's recursion limit, still under the 1 MiB frame cap
        '{"header":' * 100_000,
        "PINGPONG",
        "",
        "\x00\xff",
    ]


async def test_a_live_session_drops_garbage_and_keeps_relaying(sim, open_session, caplog):  # noqa: F811
    caplog.set_level(logging.WARNING, logger="kisweb.kis.realtime")
    account, _, session = await open_session()
    events = session.events()
    await session.subscribe("H0STCNT0", "005930")
    servers = [s for s in sim.hub.sessions if s.appkey == account.appkey]
    garbage = garbage_frames(EXAMPLES, seed=13)
    odd = odd_control_messages()
    sim.faults.send_malformed_frame()  # the simulator's own switch
    for text in [*garbage, *odd]:
        for server in servers:
            server.send(text)
    sim.market.set_price("005930", Decimal(70300))
    trade = await next_event(events, Trade)
    assert trade.price == Decimal(70300)
    sim.market.set_price("005930", Decimal(70400))
    assert (await next_event(events, Trade)).price == Decimal(70400)
    await session.subscribe("H0STCNT0", "000660")  # control requests still get their ack
    assert session.health.state is ConnectionState.OPEN
    assert session.health.reconnects == 0
    dropped = caplog.text.count("dropped a malformed realtime frame")
    assert dropped == len(garbage) + 1
    assert "failed unexpectedly" not in caplog.text
    record(
        "hostile input",
        "garbage frames pushed through a live realtime session: dropped, reconnects",
        f"{dropped} dropped of {len(garbage) + 1}, {session.health.reconnects} reconnects",
        note=f"plus {len(odd)} malformed control and PINGPONG messages; later trades arrived",
    )
