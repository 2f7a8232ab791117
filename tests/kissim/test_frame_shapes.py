"""The simulator's realtime frames have the field shapes of real KIS frames (issue #9 §2).

The rules in ``frame_shapes`` are first held against every public capture (so they say what
KIS sends), then against frames the simulator sends over its WebSocket while prices rise,
fall and stand still and orders are accepted, filled, cancelled and rejected. The
project's parser reads every one of those frames too.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

from kisweb.kis.realtime import FrameParser, Trade

from . import frame_captures, frame_shapes
from .conftest import OT, connect, decrypt, recv_until, subscribe

SAMSUNG = "005930"
QUOTES = [
    ("H0STCNT0", SAMSUNG),
    ("H0STASP0", SAMSUNG),
    ("HDFSCNT0", "DNASAAPL"),
    ("HDFSASP0", "DNASAAPL"),
    ("HDFSCNT0", "DNYSKO"),
]
NOTICES = ["H0STCNI9", "H0GSCNI9"]


@pytest.mark.parametrize("capture", frame_captures.ALL, ids=lambda c: f"{c.tr_id}:{c.source[:40]}")
def test_every_capture_keeps_the_shapes(capture):
    length = len(frame_shapes.LAYOUTS[capture.tr_id])
    length = min(length, frame_shapes.OLDER_LENGTHS.get(capture.tr_id, length))
    for record in capture.records(length):
        assert frame_shapes.violations(capture.tr_id, record) == []


@pytest.mark.parametrize(
    ("tr_id", "index", "text"),
    [
        ("HDFSCNT0", 21, "7783.0300"),  # TAMT with decimals (issue #9)
        ("HDFSCNT0", 14, "0.11"),  # a rise without its plus
        ("HDFSCNT0", 13, "-4.4700"),  # DIFF signed
        ("H0STASP0", 59, "70950.0"),  # KMID_PRC with a decimal
        ("H0STCNT0", 4, "+3750"),  # a plus on a domestic change
        ("H0STCNT0", 5, "1.4"),  # one decimal
        ("H0STCNT0", 1, "246000"),  # no such time
    ],
)
def test_the_rules_refuse_the_shapes_issue_9_found(tr_id, index, text):
    capture = next(c for c in frame_captures.ALL if c.tr_id == tr_id)
    [record, *_] = capture.records(len(frame_shapes.LAYOUTS[tr_id]))
    record[index] = text
    assert frame_shapes.violations(tr_id, record) != []


def test_a_sign_that_disagrees_with_its_figure_is_refused():
    capture = frame_captures.US_TRADES[5]  # GOOGL, down: SIGN 5, RATE -1.25
    [record] = capture.records(26)
    record[14] = "+1.25"
    assert frame_shapes.violations("HDFSCNT0", record) == ["field 14 '+1.25' disagrees with sign 5"]


async def drive_the_market(sim, paper) -> None:
    """Prices up, flat, down and to both limits; orders accepted, filled, cancelled,
    rejected, at home and in New York."""
    market = sim.market
    market.set_liquidity(SAMSUNG, 100)
    samsung = market.quote(SAMSUNG)
    for price in (72000, samsung.base, 70000, samsung.upper, samsung.lower, 71000):
        market.set_price(SAMSUNG, price)
    aapl = market.quote("AAPL")
    for price in ("190.00", aapl.base, "185.37"):
        market.set_price("AAPL", price)
    for _ in range(3):
        market.step()
    await paper.order("buy", SAMSUNG, 2, 0, ord_dvsn="01")  # accepted, filled
    resting = (await paper.order("buy", SAMSUNG, 5, 65000)).json()["output"]["ODNO"]
    await paper.rvsecncl(resting, "02")  # cancelled
    await paper.order("buy", SAMSUNG, 1, 71050)  # off the tick grid: rejected
    for limit in ("150.00", "200.00"):  # resting, then filled
        await paper.post(
            f"{OT}/order",
            "VTTT1002U",
            {
                **paper.acct(),
                "OVRS_EXCG_CD": "NASD",
                "PDNO": "AAPL",
                "ORD_QTY": "1",
                "OVRS_ORD_UNPR": limit,
                "CTAC_TLNO": "",
                "MGCO_APTM_ODNO": "",
                "SLL_TYPE": "",
                "ORD_SVR_DVSN_CD": "0",
                "ORD_DVSN": "00",
            },
        )


async def test_simulator_frames_keep_the_shapes_and_the_parser_reads_them(sim, paper):
    approval = await paper.approval()
    parser = FrameParser()
    keys: dict[str, tuple[str, str]] = {}
    frames: dict[str, list[str]] = defaultdict(list)
    async with await connect(paper) as ws:
        for tr_id, tr_key in QUOTES:
            await subscribe(ws, approval, tr_id, tr_key)
        for tr_id in NOTICES:
            output = (await subscribe(ws, approval, tr_id, "alice01"))["body"]["output"]
            keys[tr_id] = (output["key"], output["iv"])
            parser.set_notice_key(tr_id, output["key"], output["iv"])
        await drive_the_market(sim, paper)

        def collect(message: str) -> bool:
            if message[:1] in ("0", "1"):
                frames[message.split("|", 2)[1]].append(message)
            notices = [len(frames[t]) for t in NOTICES]
            return notices[0] >= 5 and notices[1] >= 3 and len(frames) == 6

        await recv_until(ws, collect, timeout=5)

    signs: dict[str, set[str]] = defaultdict(set)
    for tr_id, messages in frames.items():
        length = len(frame_shapes.LAYOUTS[tr_id])
        for message in messages:
            enc, _, count, payload = message.split("|", 3)
            if enc == "1":
                payload = decrypt(payload, *keys[tr_id])
            fields = payload.split("^")
            assert len(fields) == int(count) * length, (tr_id, len(fields))
            for start in range(0, len(fields), length):
                record = fields[start : start + length]
                assert frame_shapes.violations(tr_id, record) == [], (tr_id, record)
                if tr_id in ("H0STCNT0", "HDFSCNT0"):
                    signs[tr_id].add(record[3 if tr_id == "H0STCNT0" else 12])
            assert len(parser.parse(message)) == int(count)
    assert signs["H0STCNT0"] >= {"1", "2", "3", "4", "5"}
    assert signs["HDFSCNT0"] >= {"2", "3", "5"}


async def test_a_us_trade_reads_like_the_capture_issue_9_quotes(sim, paper):
    """Field for field the shape of the AAPL record in issue #9: TAMT whole dollars, RATE
    with a plus, DIFF unsigned with four decimals."""
    approval = await paper.approval()
    async with await connect(paper) as ws:
        await subscribe(ws, approval, "HDFSCNT0", "DNASAAPL")
        aapl = sim.market.quote("AAPL")
        sim.market.set_price("AAPL", aapl.base + Decimal("0.21"))
        message = await recv_until(ws, lambda m: m.startswith("0|HDFSCNT0|"))
    record = message.split("|", 3)[3].split("^")
    assert (record[12], record[13], record[14]) == ("2", "0.2100", "+0.11")
    assert record[21] == str(int(aapl.value))
    [trade] = FrameParser().parse(message)
    assert isinstance(trade, Trade)
    assert (trade.change, trade.change_rate) == (Decimal("0.21"), Decimal("0.11"))
