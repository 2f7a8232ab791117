"""Continuation paging to the last page with exact row counts (docs/kis-protocol.md §3.4)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kisweb.kissim.symbols import KRX_LISTINGS
from kisweb.kissim.wire import Side

from .conftest import Kis

ALL_CODES = [code for code, *_ in KRX_LISTINGS]


def place_resting_orders(sim, kis: Kis, count: int) -> None:
    """Orders straight into the engine (fast), each resting below the market."""
    ledger = sim.market.ledgers[kis.account.appkey]
    for _ in range(count):
        sim.market.submit_order(ledger, "005930", Side.BUY, "00", 1, Decimal(60000))


async def walk(fetch) -> tuple[list[int], list[str], list[dict]]:
    """Follow tr_cont until D/E, copying the cursors from each body, as the official client."""
    sizes, conts, rows = [], [], []
    tr_cont, fk, nk = "", "", ""
    for _ in range(20):
        response = await fetch(tr_cont=tr_cont, fk=fk, nk=nk)
        body = response.json()
        assert body["rt_cd"] == "0", body
        page = body["output1"]
        sizes.append(len(page))
        rows.extend(page)
        conts.append(response.headers["tr_cont"])
        if response.headers["tr_cont"] in ("D", "E"):
            return sizes, conts, rows
        tr_cont, fk, nk = "N", body["ctx_area_fk100"], body["ctx_area_nk100"]
    raise AssertionError("paging never ended")


@pytest.mark.parametrize(
    ("env", "count", "sizes", "conts"),
    [
        ("paper", 40, [15, 15, 10], ["F", "M", "E"]),
        ("paper", 15, [15], ["D"]),
        ("real", 250, [100, 100, 50], ["F", "M", "E"]),
    ],
)
async def test_daily_executions_page_to_the_end(sim, make_kis, env, count, sizes, conts):
    kis = await make_kis(env, cash_krw=10**12)
    place_resting_orders(sim, kis, count)
    got_sizes, got_conts, rows = await walk(kis.daily_ccld)
    assert (got_sizes, got_conts) == (sizes, conts)
    odnos = [r["odno"] for r in rows]
    assert len(set(odnos)) == count
    assert odnos == sorted(odnos, reverse=True)  # INQR_DVSN 00: newest first


async def test_daily_executions_cursor_is_padded_like_kis(sim, make_kis):
    kis = await make_kis("paper", cash_krw=10**12)
    place_resting_orders(sim, kis, 20)
    body = (await kis.daily_ccld()).json()
    assert len(body["ctx_area_fk100"]) == len(body["ctx_area_nk100"]) == 100
    assert body["output2"]["tot_ord_qty"] == "20"


async def test_old_generation_daily_executions_tr(sim, make_kis):
    kis = await make_kis("real", cash_krw=10**12)
    place_resting_orders(sim, kis, 3)
    for tr in ("TTTC8001R", "CTSC9215R", "CTSC9115R"):
        assert len((await kis.daily_ccld(tr=tr)).json()["output1"]) == 3


@pytest.mark.parametrize(
    ("env", "held", "sizes", "conts"),
    [
        ("paper", 45, [20, 20, 5], ["F", "M", "E"]),
        ("real", 60, [50, 10], ["F", "E"]),
        ("real", 50, [50], ["D"]),
    ],
)
async def test_balance_pages_to_the_end(sim, make_kis, env, held, sizes, conts):
    kis = await make_kis(env, holdings=dict.fromkeys(ALL_CODES[:held], 1))
    got_sizes, got_conts, rows = await walk(kis.balance)
    assert (got_sizes, got_conts) == (sizes, conts)
    assert sorted(r["pdno"] for r in rows) == sorted(ALL_CODES[:held])


async def test_continuation_without_cursor_starts_over(sim, make_kis):
    kis = await make_kis("paper", holdings=dict.fromkeys(ALL_CODES[:25], 1))
    response = await kis.balance(tr_cont="N")
    assert response.headers["tr_cont"] == "F"
    assert len(response.json()["output1"]) == 20


@pytest.mark.parametrize("tr", ["VTTC8001R", "VTSC9215R", "VTSC9115R"])
async def test_paper_daily_execution_trs(sim, make_kis, tr):
    kis = await make_kis("paper", cash_krw=10**12)
    place_resting_orders(sim, kis, 2)
    body = (await kis.daily_ccld(tr=tr)).json()
    assert (body["msg_cd"], len(body["output1"])) == ("20310000", 2)
