"""The KRX calendar (chk-holiday, CTCA0903R), venues (EXCG_ID_DVSN_CD, FID_COND_MRKT_DIV_CODE
J/NX/UN), the real host's off-hours and NXT sessions, and ORD_DVSN 05–07, 15, 16
(docs/kis-protocol.md §4.1, §4.2, §4.6, §8), over real sockets."""

from __future__ import annotations

import datetime as dt

import pytest

from kisweb.kissim import Simulator, make_account
from kisweb.kissim.clock import KST

from .conftest import DQ, DT, NO_LIMITS, Kis

SAMSUNG = "005930"  # base 71,000: tick 100


async def holidays(kis: Kis, base: str, tr_cont: str = "", nk: str = "", fk: str = ""):
    params = {"BASS_DT": base, "CTX_AREA_FK": fk, "CTX_AREA_NK": nk}
    return await kis.get(f"{DQ}/chk-holiday", "CTCA0903R", params, tr_cont)


async def venue_order(kis: Kis, side: str, venue: str, price: int, ord_dvsn: str = "00", qty=1):
    body = {
        **kis.acct(),
        "PDNO": SAMSUNG,
        "ORD_DVSN": ord_dvsn,
        "ORD_QTY": str(qty),
        "ORD_UNPR": str(price),
        "EXCG_ID_DVSN_CD": venue,
        "SLL_TYPE": "01" if side == "sell" else "",
        "CNDT_PRIC": "",
    }
    tr = kis.tr("TTTC0012U" if side == "buy" else "TTTC0011U")
    return await kis.post(f"{DT}/order-cash", tr, body)


async def quote(kis: Kis, div: str) -> dict:
    params = {"FID_COND_MRKT_DIV_CODE": div, "FID_INPUT_ISCD": SAMSUNG}
    return (await kis.get(f"{DQ}/inquire-price", "FHKST01010100", params)).json()


async def book(kis: Kis, div: str) -> dict:
    params = {"FID_COND_MRKT_DIV_CODE": div, "FID_INPUT_ISCD": SAMSUNG}
    path = f"{DQ}/inquire-asking-price-exp-ccn"
    return (await kis.get(path, "FHKST01010200", params)).json()


# -- chk-holiday -----------------------------------------------------------------------------


async def test_holiday_check_pages_through_thirty_days_with_kis_fields(real):
    first = await holidays(real, "20261221")
    assert first.status_code == 200
    assert first.headers["tr_cont"] == "F"
    body = first.json()
    assert body["rt_cd"] == "0"
    rows = body["output"]
    assert set(rows[0]) == {
        "bass_dt", "wday_dvsn_cd", "bzdy_yn", "tr_day_yn", "opnd_yn", "sttl_day_yn",
    }  # fmt: skip
    assert rows[0]["bass_dt"] == "20261221"
    nk = body["ctx_area_nk"].strip()
    second = await holidays(real, "20261221", "N", nk, body["ctx_area_fk"])
    assert second.headers["tr_cont"] == "E"
    days = rows + second.json()["output"]
    assert len(days) == 30
    assert [d["bass_dt"] for d in days] == [
        (dt.date(2026, 12, 21) + dt.timedelta(days=i)).strftime("%Y%m%d") for i in range(30)
    ]
    by_day = {d["bass_dt"]: d for d in days}
    monday = by_day["20261221"]
    assert (monday["wday_dvsn_cd"], monday["opnd_yn"], monday["bzdy_yn"]) == ("02", "Y", "Y")
    christmas = by_day["20261225"]  # a Friday holiday
    assert (christmas["wday_dvsn_cd"], christmas["opnd_yn"], christmas["bzdy_yn"]) == (
        "06",
        "N",
        "N",
    )
    saturday = by_day["20261226"]
    assert (saturday["wday_dvsn_cd"], saturday["opnd_yn"]) == ("07", "N")
    year_end = by_day["20261231"]  # the exchange is shut, the banks are not
    assert (year_end["opnd_yn"], year_end["bzdy_yn"], year_end["sttl_day_yn"]) == ("N", "Y", "N")
    assert by_day["20270104"]["opnd_yn"] == "Y"


async def test_holiday_check_is_real_only(paper):
    body = (await holidays(paper, "20261221")).json()
    assert body["rt_cd"] == "1"
    assert body["msg_cd"] == "OPSQ0002"


async def test_holiday_check_refuses_a_bad_date_and_a_missing_one(real):
    bad = (await holidays(real, "2026-12-21")).json()
    assert bad["rt_cd"] == "1"
    missing = (await real.get(f"{DQ}/chk-holiday", "CTCA0903R", {})).json()
    assert missing["rt_cd"] != "0"
    assert "BASS_DT" in missing["msg1"]


# -- venues ----------------------------------------------------------------------------------


async def test_nxt_quote_and_book_differ_from_krx_by_the_offset(sim, real):
    sim.market.set_price(SAMSUNG, 71000)
    krx, nxt, combined = await quote(real, "J"), await quote(real, "NX"), await quote(real, "UN")
    assert krx["output"]["stck_prpr"] == "71000"
    assert nxt["output"]["stck_prpr"] == "71100"  # one tick above KRX by default
    assert combined["output"]["stck_prpr"] == "71000"
    assert (await book(real, "J"))["output1"]["askp1"] == "71100"
    assert (await book(real, "NX"))["output1"]["askp1"] == "71200"
    sim.market.set_nxt_offset(SAMSUNG, -2)
    assert (await quote(real, "NX"))["output"]["stck_prpr"] == "70800"
    bad = await quote(real, "XX")
    assert bad["rt_cd"] == "1"


async def test_nxt_order_fills_from_the_nxt_book_and_lists_its_venue(sim, make_kis):
    real = await make_kis("real")
    sim.market.set_price(SAMSUNG, 71000)
    sim.market.set_liquidity(SAMSUNG, 100)
    # KRX's best ask is 71,100; NXT's is 71,200. A bot pricing NXT from KRX never fills.
    priced_from_krx = (await venue_order(real, "buy", "NXT", 71100)).json()
    assert priced_from_krx["rt_cd"] == "0"
    priced_from_nxt = (await venue_order(real, "buy", "NXT", 71200)).json()
    rows = (await real.daily_ccld()).json()["output1"]
    by_odno = {r["odno"]: r for r in rows}
    stale = by_odno[priced_from_krx["output"]["ODNO"]]
    right = by_odno[priced_from_nxt["output"]["ODNO"]]
    assert (stale["tot_ccld_qty"], right["tot_ccld_qty"]) == ("0", "1")
    assert right["avg_prvs"] == "71200"
    assert right["excg_id_dvsn_Cd"] == "NXT"
    assert sim.market.quote(SAMSUNG).price == 71000  # NXT fills do not move KRX's price
    sor = (await venue_order(real, "buy", "SOR", 71100)).json()
    assert sor["rt_cd"] == "0"
    rows = (await real.daily_ccld()).json()["output1"]
    assert {r["odno"]: r["excg_id_dvsn_Cd"] for r in rows}[sor["output"]["ODNO"]] == "SOR"


async def test_paper_refuses_nxt_and_sor_in_kis_words(sim, paper):
    for venue in ("NXT", "SOR"):
        body = (await venue_order(paper, "buy", venue, 70000)).json()
        assert body["rt_cd"] == "1"
        assert body["msg1"] == "모의투자 거래소ID구분코드는 KRX만 가능합니다."
    assert sim.stats.orders_received(paper.account.appkey) == 0


async def test_an_unknown_venue_is_refused(sim, real):
    body = (await venue_order(real, "buy", "ABC", 70000)).json()
    assert body["rt_cd"] == "1"
    assert "거래소ID구분코드" in body["msg1"]


@pytest.mark.parametrize(
    ("venue", "ord_dvsn"), [("NXT", "01"), ("NXT", "02"), ("NXT", "06"), ("SOR", "02")]
)
async def test_venues_refuse_order_types_they_do_not_take(real, venue, ord_dvsn):
    body = (await venue_order(real, "buy", venue, 71000, ord_dvsn)).json()
    assert (body["rt_cd"], body["msg1"]) == ("1", "주문구분 입력오류입니다.")


# -- ORD_DVSN 05–07, 15, 16 ------------------------------------------------------------------


async def test_real_takes_off_hours_and_best_ioc_fok_paper_refuses_them(sim, make_kis):
    real = await make_kis("real")
    paper = await make_kis("paper")
    sim.market.set_price(SAMSUNG, 71000)
    sim.market.set_liquidity(SAMSUNG, 5)
    for code in ("05", "06", "07", "15", "16"):
        refused = (await venue_order(paper, "buy", "KRX", 71000, code)).json()
        assert refused["rt_cd"] == "1", code
        assert refused["msg1"] == "모의투자 주문구분 입력오류입니다."
    ioc = (await venue_order(real, "buy", "KRX", 0, "15", qty=8)).json()
    fok = (await venue_order(real, "buy", "KRX", 0, "16", qty=8)).json()
    assert ioc["rt_cd"] == fok["rt_cd"] == "0"
    rows = {r["odno"]: r for r in (await real.daily_ccld()).json()["output1"]}
    ioc_row, fok_row = rows[ioc["output"]["ODNO"]], rows[fok["output"]["ODNO"]]
    # IOC best: 5 at the best ask, the rest cancelled; FOK best: the best level lacks 8.
    assert (ioc_row["tot_ccld_qty"], ioc_row["cnc_cfrm_qty"]) == ("5", "3")
    assert (fok_row["tot_ccld_qty"], fok_row["cnc_cfrm_qty"]) == ("0", "8")
    assert ioc_row["ord_dvsn_name"] == "IOC최유리"


# -- the real host's sessions with the KRX-hours clock -----------------------------------------


def at(text: str):
    moment = dt.datetime.fromisoformat(text).replace(tzinfo=KST)
    return lambda: moment


@pytest.mark.parametrize(
    ("moment", "venue", "ord_dvsn", "taken"),
    [
        ("2026-11-24 08:10:00", "NXT", "00", True),  # NXT pre-market
        ("2026-11-24 08:10:00", "KRX", "00", False),
        ("2026-11-24 08:35:00", "KRX", "05", True),  # pre-market off-hours
        ("2026-11-24 08:45:00", "KRX", "05", False),
        ("2026-11-24 08:45:00", "KRX", "00", True),  # the opening call
        ("2026-11-24 10:00:00", "SOR", "01", True),
        ("2026-11-24 15:25:00", "KRX", "03", False),  # closing call: no best-limit
        ("2026-11-24 15:25:00", "KRX", "00", True),
        ("2026-11-24 15:45:00", "KRX", "06", True),  # post-market off-hours
        ("2026-11-24 15:45:00", "KRX", "00", False),
        ("2026-11-24 17:00:00", "KRX", "07", True),  # after-hours single price
        ("2026-11-24 17:00:00", "KRX", "00", False),
        ("2026-11-24 19:30:00", "NXT", "00", True),  # NXT after-market
        ("2026-11-24 20:00:00", "NXT", "00", False),
        ("2026-12-25 10:00:00", "KRX", "00", False),  # a holiday
    ],
)
async def test_real_sessions_take_only_their_order_types(moment, venue, ord_dvsn, taken):
    account = make_account("real", holdings={SAMSUNG: 10}, cash_krw=10_000_000)
    sim = Simulator(accounts=[account], speed=0, clock="krx", now=at(moment), rate_limits=NO_LIMITS)
    await sim.start()
    kis = await Kis(sim, account).login()
    try:
        price = 0 if ord_dvsn in ("01", "03", "05", "06") else 71000
        body = (await venue_order(kis, "buy", venue, price, ord_dvsn)).json()
        assert (body["rt_cd"] == "0") is taken, body
        if not taken:
            assert body["msg_cd"] in ("APBK0918", "APBK0919")
    finally:
        await kis.aclose()
        await sim.stop()
