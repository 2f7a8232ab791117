"""Domestic and US quotation TRs on both hosts (docs/kis-protocol.md §4.2, §4.3)."""

from __future__ import annotations

import datetime as dt

import pytest

from kisweb.kissim import Simulator, make_account
from kisweb.kissim.clock import KST

from .conftest import DQ, NO_LIMITS, OQ, Kis, all_strings

SAMSUNG = "005930"


@pytest.fixture(params=["paper", "real"])
async def kis(request, make_kis):
    return await make_kis(request.param)


async def test_inquire_price(sim, kis):
    body = (await kis.price(SAMSUNG)).json()
    out = body["output"]
    assert (out["stck_prpr"], out["stck_sdpr"], out["prdy_vrss_sign"]) == ("71000", "71000", "3")
    assert out["rprs_mrkt_kor_name"] == "KOSPI200"
    assert out["aspr_unit"] == "100"
    assert all_strings(body)
    sim.market.set_price(SAMSUNG, 92300)
    out = (await kis.price(SAMSUNG)).json()["output"]
    assert (out["stck_prpr"], out["prdy_vrss"], out["prdy_vrss_sign"], out["prdy_ctrt"]) == (
        "92300",
        "21300",
        "1",  # at the upper limit
        "30.00",
    )


async def test_unknown_symbol(kis):
    body = (await kis.price("999999")).json()
    assert body["rt_cd"] == "1"
    assert body["msg1"].endswith("해당종목정보가 없습니다.")


async def test_order_book_has_ten_levels_each_side(sim, kis):
    params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": SAMSUNG}
    body = (await kis.get(f"{DQ}/inquire-asking-price-exp-ccn", "FHKST01010200", params)).json()
    book = body["output1"]
    asks = [int(book[f"askp{i}"]) for i in range(1, 11)]
    bids = [int(book[f"bidp{i}"]) for i in range(1, 11)]
    assert asks == list(range(71100, 72100, 100))
    assert bids == list(range(71000, 70000, -100))
    assert int(book["total_askp_rsqn"]) == sum(int(book[f"askp_rsqn{i}"]) for i in range(1, 11))
    assert body["output2"]["stck_shrn_iscd"] == SAMSUNG
    assert all_strings(body)


async def test_book_crosses_tick_table_boundaries(sim, kis):
    sim.market.set_price("035720", 49950)  # tick 50 below 50,000, 100 from there
    params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "035720"}
    book = (await kis.get(f"{DQ}/inquire-asking-price-exp-ccn", "FHKST01010200", params)).json()
    asks = [int(book["output1"][f"askp{i}"]) for i in range(1, 4)]
    assert asks == [50000, 50100, 50200]


@pytest.mark.parametrize(("period", "days_apart"), [("D", 1), ("W", 7), ("M", 28)])
async def test_daily_price_returns_30_rows_newest_first(kis, period, days_apart):
    params = {
        "FID_COND_MRKT_DIV_CODE": "J",
        "FID_INPUT_ISCD": SAMSUNG,
        "FID_PERIOD_DIV_CODE": period,
        "FID_ORG_ADJ_PRC": "0",
    }
    body = (await kis.get(f"{DQ}/inquire-daily-price", "FHKST01010400", params)).json()
    rows = body["output"]
    assert len(rows) == 30
    dates = [dt.datetime.strptime(r["stck_bsop_date"], "%Y%m%d") for r in rows]
    assert dates == sorted(dates, reverse=True)
    assert (dates[1] - dates[2]).days >= days_apart
    for row in rows:
        assert int(row["stck_lwpr"]) <= int(row["stck_clpr"]) <= int(row["stck_hgpr"])


async def test_period_chart_honours_the_date_range(kis):
    params = {
        "FID_COND_MRKT_DIV_CODE": "J",
        "FID_INPUT_ISCD": SAMSUNG,
        "FID_INPUT_DATE_1": "20000101",
        "FID_INPUT_DATE_2": "20991231",
        "FID_PERIOD_DIV_CODE": "D",
        "FID_ORG_ADJ_PRC": "0",
    }
    body = (await kis.get(f"{DQ}/inquire-daily-itemchartprice", "FHKST03010100", params)).json()
    rows = body["output2"]
    assert len(rows) == 100
    assert body["output1"]["hts_kor_isnm"] == "삼성전자"
    older = params | {"FID_INPUT_DATE_2": rows[-1]["stck_bsop_date"]}
    page2 = (await kis.get(f"{DQ}/inquire-daily-itemchartprice", "FHKST03010100", older)).json()
    assert page2["output2"][0]["stck_bsop_date"] == rows[-1]["stck_bsop_date"]
    yearly = params | {"FID_PERIOD_DIV_CODE": "Y"}
    years = (await kis.get(f"{DQ}/inquire-daily-itemchartprice", "FHKST03010100", yearly)).json()
    assert 3 <= len(years["output2"]) <= 4


async def test_minute_chart_returns_up_to_30_bars(sim, kis):
    sim.market.set_price(SAMSUNG, 71500)
    params = {
        "FID_ETC_CLS_CODE": "",
        "FID_COND_MRKT_DIV_CODE": "J",
        "FID_INPUT_ISCD": SAMSUNG,
        "FID_INPUT_HOUR_1": "235959",
        "FID_PW_DATA_INCU_YN": "Y",
    }
    body = (await kis.get(f"{DQ}/inquire-time-itemchartprice", "FHKST03010200", params)).json()
    rows = body["output2"]
    assert 1 <= len(rows) <= 30
    assert rows[0]["stck_prpr"] == "71500"
    hours = [r["stck_cntg_hour"] for r in rows]
    assert hours == sorted(hours, reverse=True)


async def test_us_price(sim, kis):
    params = {"AUTH": "", "EXCD": "NAS", "SYMB": "AAPL"}
    body = (await kis.get(f"{OQ}/price", "HHDFS00000300", params)).json()
    out = body["output"]
    assert (out["rsym"], out["last"], out["base"], out["zdiv"]) == (
        "DNASAAPL",
        "189.8400",
        "189.8400",
        "4",
    )
    wrong_exchange = params | {"EXCD": "NYS"}
    assert (await kis.get(f"{OQ}/price", "HHDFS00000300", wrong_exchange)).json()["rt_cd"] == "1"


async def test_us_dailyprice(kis):
    params = {"AUTH": "", "EXCD": "NYS", "SYMB": "KO", "GUBN": "0", "BYMD": "", "MODP": "1"}
    body = (await kis.get(f"{OQ}/dailyprice", "HHDFS76240000", params)).json()
    assert body["output1"]["rsym"] == "DNYSKO"
    assert len(body["output2"]) == 100
    assert body["output1"]["nrec"] == "100"
    cut = body["output2"][50]["xymd"]
    older = (await kis.get(f"{OQ}/dailyprice", "HHDFS76240000", params | {"BYMD": cut})).json()
    assert older["output2"][0]["xymd"] == cut


async def test_daily_rows_are_dated_on_each_exchange_own_calendar():
    """At 02:00 KST on Wednesday 25 Nov it is Tuesday 24 Nov in New York: the US daily rows
    start on the 24th (local dates, §4.3), the KRX rows on the 25th."""
    moment = dt.datetime(2026, 11, 25, 2, 0, tzinfo=KST)
    sim = Simulator(accounts=[], speed=0, now=lambda: moment, rate_limits=NO_LIMITS)
    await sim.start()
    try:
        kis = await Kis(sim, sim.add_account(make_account("paper"))).login()
        params = {"AUTH": "", "EXCD": "NAS", "SYMB": "AAPL", "GUBN": "0", "BYMD": "", "MODP": "1"}
        us = (await kis.get(f"{OQ}/dailyprice", "HHDFS76240000", params)).json()["output2"]
        assert [r["xymd"] for r in us[:3]] == ["20261124", "20261123", "20261120"]
        krx = {
            "FID_COND_MRKT_DIV_CODE": "J",
            "FID_INPUT_ISCD": "005930",
            "FID_PERIOD_DIV_CODE": "D",
            "FID_ORG_ADJ_PRC": "0",
        }
        rows = (await kis.get(f"{DQ}/inquire-daily-price", "FHKST01010400", krx)).json()["output"]
        assert [r["stck_bsop_date"] for r in rows[:2]] == ["20261125", "20261124"]
        await kis.aclose()
    finally:
        await sim.stop()


async def test_minute_chart_is_today_only_after_midnight():
    """Minute bars are today's (§4.2): after midnight yesterday's bars drop out, and the
    query hour is compared within today."""
    moments = [dt.datetime(2026, 11, 24, 23, 50, tzinfo=KST)]
    sim = Simulator(accounts=[], speed=0, now=lambda: moments[0], rate_limits=NO_LIMITS)
    await sim.start()
    try:
        kis = await Kis(sim, sim.add_account(make_account("paper"))).login()
        sim.market.set_price(SAMSUNG, 71500)
        moments[0] = dt.datetime(2026, 11, 25, 0, 5, tzinfo=KST)
        sim.market.set_price(SAMSUNG, 71600)
        params = {
            "FID_ETC_CLS_CODE": "",
            "FID_COND_MRKT_DIV_CODE": "J",
            "FID_INPUT_ISCD": SAMSUNG,
            "FID_INPUT_HOUR_1": "235959",
            "FID_PW_DATA_INCU_YN": "N",
        }
        path = f"{DQ}/inquire-time-itemchartprice"
        rows = (await kis.get(path, "FHKST03010200", params)).json()["output2"]
        assert [(r["stck_bsop_date"], r["stck_cntg_hour"], r["stck_prpr"]) for r in rows] == [
            ("20261125", "000500", "71600")
        ]
        await kis.aclose()
    finally:
        await sim.stop()
