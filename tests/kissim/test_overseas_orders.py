"""US orders and account TRs (docs/kis-protocol.md §4.3)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kisweb.kissim import Simulator, make_account
from kisweb.kissim.clock import KST

from .conftest import NO_LIMITS, OT, Kis


def us_order(kis: Kis, qty: int, price: str, ticker="AAPL", exchange="NASD", dvsn="00") -> dict:
    return {
        **kis.acct(),
        "OVRS_EXCG_CD": exchange,
        "PDNO": ticker,
        "ORD_QTY": str(qty),
        "OVRS_ORD_UNPR": price,
        "CTAC_TLNO": "",
        "MGCO_APTM_ODNO": "",
        "SLL_TYPE": "",
        "ORD_SVR_DVSN_CD": "0",
        "ORD_DVSN": dvsn,
    }


def page_params(kis: Kis, **extra: str) -> dict:
    return {**kis.acct(), "CTX_AREA_FK200": "", "CTX_AREA_NK200": "", **extra}


async def us_balance(kis: Kis) -> dict:
    params = page_params(kis, OVRS_EXCG_CD="NASD", TR_CRCY_CD="USD")
    return (await kis.get(f"{OT}/inquire-balance", kis.tr("TTTS3012R"), params)).json()


async def test_paper_buy_then_sell_with_both_sell_tr_ids(sim, make_kis):
    kis = await make_kis("paper")
    sim.market.set_liquidity("AAPL", 100)
    bought = await kis.post(f"{OT}/order", "VTTT1002U", us_order(kis, 4, "200.00"))
    assert bought.json()["msg1"] == "모의투자 매수주문이 완료 되었습니다."
    for tr in ("VTTT1001U", "VTTT1006U"):
        sold = await kis.post(f"{OT}/order", tr, us_order(kis, 1, "150.00"))
        assert sold.json()["rt_cd"] == "0", sold.json()
    row = (await us_balance(kis))["output1"][0]
    assert (row["ovrs_pdno"], row["ovrs_cblc_qty"], row["pchs_avg_pric"]) == (
        "AAPL",
        "2",
        "189.8500",
    )


async def test_paper_accepts_limit_orders_only(make_kis):
    kis = await make_kis("paper")
    response = await kis.post(f"{OT}/order", "VTTT1002U", us_order(kis, 1, "150.00", dvsn="32"))
    assert response.json()["rt_cd"] == "1"


async def test_real_us_order_and_off_grid_price(sim, make_kis):
    kis = await make_kis("real")
    ok = await kis.post(f"{OT}/order", "TTTT1002U", us_order(kis, 1, "150.00", dvsn="34"))
    assert (ok.json()["msg_cd"], len(ok.json()["output"]["ODNO"])) == ("APBK0013", 10)
    off = await kis.post(f"{OT}/order", "TTTT1002U", us_order(kis, 1, "150.005"))
    assert off.json()["rt_cd"] == "1"
    nyse = await kis.post(f"{OT}/order", "TTTT1002U", us_order(kis, 1, "60.00", "KO", "NYSE"))
    assert nyse.json()["rt_cd"] == "0"
    mismatch = await kis.post(f"{OT}/order", "TTTT1002U", us_order(kis, 1, "60.00", "KO", "NASD"))
    assert mismatch.json()["rt_cd"] == "1"


async def test_us_cash_limits_buys(make_kis):
    kis = await make_kis("paper", cash_usd=1000)
    response = await kis.post(f"{OT}/order", "VTTT1002U", us_order(kis, 6, "180.00"))
    assert response.json()["msg1"] == "모의투자 주문가능금액을 초과 했습니다"


@pytest.mark.parametrize("env", ["paper", "real"])
async def test_revise_cancel_and_unfilled_list(sim, make_kis, env):
    kis = await make_kis(env)
    odno = (await kis.post(f"{OT}/order", kis.tr("TTTT1002U"), us_order(kis, 5, "150.00"))).json()[
        "output"
    ]["ODNO"]
    revise = {
        **kis.acct(),
        "OVRS_EXCG_CD": "NASD",
        "PDNO": "AAPL",
        "ORGN_ODNO": odno,
        "RVSE_CNCL_DVSN_CD": "01",
        "ORD_QTY": "5",
        "OVRS_ORD_UNPR": "151.00",
        "MGCO_APTM_ODNO": "",
        "ORD_SVR_DVSN_CD": "0",
    }
    revised = (await kis.post(f"{OT}/order-rvsecncl", kis.tr("TTTT1004U"), revise)).json()
    new = revised["output"]["ODNO"]
    assert new != odno
    params = page_params(kis, OVRS_EXCG_CD="NASD", SORT_SQN="DS")
    nccs = (await kis.get(f"{OT}/inquire-nccs", kis.tr("TTTS3018R"), params)).json()
    assert [(r["odno"], r["nccs_qty"], r["ft_ord_unpr3"]) for r in nccs["output"]] == [
        (new, "5", "151.00000000")
    ]
    cancel = revise | {"ORGN_ODNO": new, "RVSE_CNCL_DVSN_CD": "02", "OVRS_ORD_UNPR": "0"}
    cancelled = (await kis.post(f"{OT}/order-rvsecncl", kis.tr("TTTT1004U"), cancel)).json()
    assert cancelled["rt_cd"] == "0"
    nccs = (await kis.get(f"{OT}/inquire-nccs", kis.tr("TTTS3018R"), params)).json()
    assert nccs["output"] == []
    again = (await kis.post(f"{OT}/order-rvsecncl", kis.tr("TTTT1004U"), cancel)).json()
    assert again["rt_cd"] == "1"


async def test_executions_list_and_paging(sim, make_kis):
    kis = await make_kis("paper", cash_usd=1_000_000)
    for _ in range(12):
        await kis.post(f"{OT}/order", "VTTT1002U", us_order(kis, 1, "100.00"))
    params = page_params(
        kis,
        PDNO="",
        ORD_STRT_DT="20000101",
        ORD_END_DT="20991231",
        SLL_BUY_DVSN="00",
        CCLD_NCCS_DVSN="00",
        OVRS_EXCG_CD="",
        SORT_SQN="DS",
        ORD_DT="",
        ORD_GNO_BRNO="",
        ODNO="",
    )
    first = await kis.get(f"{OT}/inquire-ccnl", "VTTS3035R", params)
    assert first.headers["tr_cont"] == "F"
    assert len(first.json()["output"]) == 10
    body = first.json()
    more = params | {
        "CTX_AREA_FK200": body["ctx_area_fk200"],
        "CTX_AREA_NK200": body["ctx_area_nk200"],
    }
    second = await kis.get(f"{OT}/inquire-ccnl", "VTTS3035R", more, tr_cont="N")
    assert second.headers["tr_cont"] == "E"
    assert len(second.json()["output"]) == 2


async def test_psamount_and_balance_totals(sim, make_kis):
    kis = await make_kis("real", cash_usd=10_000)
    sim.market.set_liquidity("NVDA", 100)
    await kis.post(f"{OT}/order", "TTTT1002U", us_order(kis, 10, "130.00", "NVDA"))
    params = {**kis.acct(), "OVRS_EXCG_CD": "NASD", "OVRS_ORD_UNPR": "124.31", "ITEM_CD": "NVDA"}
    body = (await kis.get(f"{OT}/inquire-psamount", "TTTS3007R", params)).json()
    power = Decimal(10_000) - 10 * Decimal("124.31")
    assert body["output"]["ovrs_ord_psbl_amt"] == str(power.quantize(Decimal("0.01")))
    assert body["output"]["max_ord_psbl_qty"] == str(int(power // Decimal("124.31")))
    sim.market.set_price("NVDA", Decimal("130.00"))
    totals = (await us_balance(kis))["output2"]
    assert Decimal(totals["frcr_pchs_amt1"]) == Decimal("1243.1")
    assert Decimal(totals["tot_evlu_pfls_amt"]) == Decimal("1300") - Decimal("1243.1")


@pytest.mark.parametrize("env", ["paper", "real"])
async def test_account_trs_answer_on_both_hosts(sim, make_kis, env):
    kis = await make_kis(env)
    await kis.post(f"{OT}/order", kis.tr("TTTT1002U"), us_order(kis, 1, "150.00"))
    ccnl = page_params(
        kis,
        PDNO="",
        ORD_STRT_DT="",
        ORD_END_DT="",
        SLL_BUY_DVSN="00",
        CCLD_NCCS_DVSN="00",
        OVRS_EXCG_CD="",
        SORT_SQN="DS",
        ORD_DT="",
        ORD_GNO_BRNO="",
        ODNO="",
    )
    rows = (await kis.get(f"{OT}/inquire-ccnl", kis.tr("TTTS3035R"), ccnl)).json()["output"]
    assert [(r["pdno"], r["nccs_qty"]) for r in rows] == [("AAPL", "1")]
    params = {**kis.acct(), "OVRS_EXCG_CD": "NASD", "OVRS_ORD_UNPR": "150", "ITEM_CD": "AAPL"}
    body = (await kis.get(f"{OT}/inquire-psamount", kis.tr("TTTS3007R"), params)).json()
    assert body["output"]["ord_psbl_frcr_amt"] == "9850.00"  # 10,000 less the resting buy
    expected = "20310000" if env == "paper" else "MCA00000"
    assert body["msg_cd"] == expected


async def test_us_order_dates_are_new_york_dates():
    """ORD_STRT_DT/ORD_END_DT and `ord_dt` are the exchange's local date, `dmst_ord_dt` the
    Korean one (§4.3): at 02:00 KST on the 25th it is still the 24th in New York."""
    moment = dt.datetime(2026, 11, 25, 2, 0, tzinfo=KST)
    sim = Simulator(accounts=[], speed=0, now=lambda: moment, rate_limits=NO_LIMITS)
    await sim.start()
    try:
        account = sim.add_account(make_account("real", cash_usd=10_000))
        kis = await Kis(sim, account).login()
        await kis.post(f"{OT}/order", "TTTT1002U", us_order(kis, 1, "150.00"))

        async def ccnl(day: str) -> list[dict]:
            params = page_params(
                kis,
                PDNO="%",
                ORD_STRT_DT=day,
                ORD_END_DT=day,
                SLL_BUY_DVSN="00",
                CCLD_NCCS_DVSN="00",
                OVRS_EXCG_CD="%",
                SORT_SQN="DS",
                ORD_DT="",
                ORD_GNO_BRNO="",
                ODNO="",
            )
            body = (await kis.get(f"{OT}/inquire-ccnl", "TTTS3035R", params)).json()
            assert body["rt_cd"] == "0", body
            return body["output"]

        [row] = await ccnl("20261124")
        assert (row["ord_dt"], row["dmst_ord_dt"]) == ("20261124", "20261125")
        assert await ccnl("20261125") == []
        params = page_params(kis, OVRS_EXCG_CD="NASD", SORT_SQN="DS")
        [open_row] = (await kis.get(f"{OT}/inquire-nccs", "TTTS3018R", params)).json()["output"]
        assert open_row["ord_dt"] == "20261124"
        await kis.aclose()
    finally:
        await sim.stop()
