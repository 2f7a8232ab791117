"""Domestic cash orders, revise/cancel and the matching engine
(docs/kis-protocol.md §4.1, §5, §8)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx
import pytest

from kisweb.kissim import Simulator, make_account
from kisweb.kissim.clock import KST

from .conftest import DQ, DT, NO_LIMITS, Kis

SAMSUNG = "005930"  # base 71,000: tick 100, limits 49,700..92,300


async def ccld_row(kis: Kis, odno: str) -> dict:
    rows = (await kis.daily_ccld(ODNO=odno)).json()["output1"]
    assert len(rows) == 1
    return rows[0]


async def holding(kis: Kis, code: str) -> dict | None:
    rows = (await kis.balance()).json()["output1"]
    return next((r for r in rows if r["pdno"] == code), None)


@pytest.fixture
def thick_book(sim):
    sim.market.set_liquidity(SAMSUNG, 100)


async def test_paper_buy_answer_has_kis_shape(paper, thick_book):
    response = await paper.order("buy", SAMSUNG, 1, 70000)
    assert response.status_code == 200
    body = response.json()
    assert body["rt_cd"] == "0"
    assert (body["msg_cd"], body["msg1"]) == ("40600000", "모의투자 매수주문이 완료 되었습니다.")
    assert set(body["output"]) == {"KRX_FWDG_ORD_ORGNO", "ODNO", "ORD_TMD"}
    assert body["output"]["KRX_FWDG_ORD_ORGNO"] == "00950"
    assert len(body["output"]["ODNO"]) == 10
    assert len(body["output"]["ORD_TMD"]) == 6


@pytest.mark.parametrize(
    ("buy_tr", "sell_tr"), [("TTTC0012U", "TTTC0011U"), ("TTTC0802U", "TTTC0801U")]
)
async def test_real_orders_accept_both_tr_generations(sim, make_kis, buy_tr, sell_tr):
    real = await make_kis("real", holdings={SAMSUNG: 5})
    sim.market.set_liquidity(SAMSUNG, 100)
    bought = await real.order("buy", SAMSUNG, 1, 70000, tr=buy_tr)
    sold = await real.order("sell", SAMSUNG, 1, 72000, tr=sell_tr)
    for response in (bought, sold):
        assert response.json()["msg_cd"] == "APBK0013"
        assert response.json()["msg1"] == "주문 전송 완료 되었습니다."
    assert sim.stats.orders_received(real.account.appkey) == 2


async def test_paper_orders_accept_both_tr_generations(sim, make_kis):
    paper = await make_kis("paper", holdings={SAMSUNG: 5})
    for tr in ("VTTC0012U", "VTTC0802U"):
        assert (await paper.order("buy", SAMSUNG, 1, 70000, tr=tr)).json()["rt_cd"] == "0"
    for tr in ("VTTC0011U", "VTTC0801U"):
        response = await paper.order("sell", SAMSUNG, 1, 72000, tr=tr)
        assert response.json()["msg1"] == "모의투자 매도주문이 완료 되었습니다."


async def test_limit_order_rests_then_fills_when_price_crosses(sim, paper, thick_book):
    odno = (await paper.order("buy", SAMSUNG, 10, 70500)).json()["output"]["ODNO"]
    row = await ccld_row(paper, odno)
    assert (row["tot_ccld_qty"], row["rmn_qty"]) == ("0", "10")

    sim.market.set_price(SAMSUNG, 70400)  # best ask is now 70,500

    row = await ccld_row(paper, odno)
    assert (row["tot_ccld_qty"], row["rmn_qty"], row["avg_prvs"]) == ("10", "0", "70500")
    position = await holding(paper, SAMSUNG)
    assert position["hldg_qty"] == "10"
    assert position["pchs_avg_pric"] == "70500.0000"


async def test_market_buy_fills_at_the_best_ask(sim, paper, thick_book):
    odno = (await paper.order("buy", SAMSUNG, 5, 0, ord_dvsn="01")).json()["output"]["ODNO"]
    row = await ccld_row(paper, odno)
    assert (row["tot_ccld_qty"], row["avg_prvs"], row["tot_ccld_amt"]) == ("5", "71100", "355500")
    totals = (await paper.balance()).json()["output2"][0]
    assert totals["prvs_rcdl_excc_amt"] == str(10_000_000 - 355_500)


async def test_thin_book_fills_partially_and_rests_the_rest(sim, paper):
    sim.market.set_liquidity(SAMSUNG, 3)
    odno = (await paper.order("buy", SAMSUNG, 10, 71200)).json()["output"]["ODNO"]
    row = await ccld_row(paper, odno)
    # 3 @ 71,100 and 3 @ 71,200; the other 4 wait in the book.
    assert (row["tot_ccld_qty"], row["rmn_qty"], row["tot_ccld_amt"]) == ("6", "4", "426900")


async def test_best_limit_and_top_priority_orders(sim, paper, thick_book):
    best = (await paper.order("buy", SAMSUNG, 1, 0, ord_dvsn="03")).json()["output"]["ODNO"]
    top = (await paper.order("buy", SAMSUNG, 1, 0, ord_dvsn="04")).json()["output"]["ODNO"]
    assert (await ccld_row(paper, best))["tot_ccld_qty"] == "1"  # at the best ask
    assert (await ccld_row(paper, top))["rmn_qty"] == "1"  # joins the best bid


async def test_sell_reduces_holding_and_realizes_cash(sim, make_kis):
    paper = await make_kis("paper", holdings={SAMSUNG: 10})
    sim.market.set_liquidity(SAMSUNG, 100)
    await paper.order("sell", SAMSUNG, 4, 0, ord_dvsn="01")
    position = await holding(paper, SAMSUNG)
    assert (position["hldg_qty"], position["thdt_sll_qty"]) == ("6", "4")
    totals = (await paper.balance()).json()["output2"][0]
    assert totals["thdt_sll_amt"] == str(4 * 71000)


async def test_revise_gets_a_new_order_number(sim, paper, thick_book):
    odno = (await paper.order("buy", SAMSUNG, 10, 70000)).json()["output"]["ODNO"]
    response = await paper.rvsecncl(odno, "01", price=70500)
    body = response.json()
    assert (body["rt_cd"], body["msg1"]) == ("0", "모의투자 정정주문이 완료 되었습니다.")
    new = body["output"]["ODNO"]
    assert new != odno
    revised = await ccld_row(paper, new)
    assert (revised["orgn_odno"], revised["ord_unpr"], revised["rmn_qty"]) == (odno, "70500", "10")
    assert (await ccld_row(paper, odno))["rmn_qty"] == "0"
    sim.market.set_price(SAMSUNG, 70400)
    assert (await ccld_row(paper, new))["tot_ccld_qty"] == "10"


async def test_partial_cancel_then_nothing_left(sim, paper, thick_book):
    odno = (await paper.order("buy", SAMSUNG, 10, 70000)).json()["output"]["ODNO"]
    part = await paper.rvsecncl(odno, "02", qty=4, all_qty=False)
    assert part.json()["msg1"] == "모의투자 취소주문이 완료 되었습니다."
    assert (await ccld_row(paper, odno))["rmn_qty"] == "6"
    rest = await paper.rvsecncl(odno, "02")
    assert (await ccld_row(paper, rest.json()["output"]["ODNO"]))["cncl_yn"] == "Y"
    again = await paper.rvsecncl(odno, "02")
    assert again.status_code == 200
    assert again.json()["rt_cd"] == "1"
    assert again.json()["msg_cd"] == "40330000"
    assert again.json()["msg1"] == "모의투자 정정/취소할 수량이 없습니다."


async def test_filled_order_cannot_be_cancelled(sim, real, thick_book):
    odno = (await real.order("buy", SAMSUNG, 2, 0, ord_dvsn="01")).json()["output"]["ODNO"]
    response = await real.rvsecncl(odno, "02", tr="TTTC0803U")
    assert response.json()["rt_cd"] == "1"
    assert response.json()["msg1"] == "정정/취소할 수량이 없습니다."


@pytest.mark.parametrize(
    ("qty", "price", "ord_dvsn", "text"),
    [
        (1, 71050, "00", "모의투자 주식주문호가단위 오류입니다."),
        (1, 92400, "00", "모의투자 주문단가가 상한가를 초과하였습니다."),
        (1, 49600, "00", "모의투자 주문단가가 하한가 미만입니다."),
        (0, 71000, "00", "모의투자 주문수량을 확인하십시오."),
        (-3, 71000, "00", "모의투자 주문수량을 확인하십시오."),
        (1, 71000, "07", "모의투자 주문구분 입력오류입니다."),
        (1, "7만", "00", "모의투자 주문단가를 확인하십시오."),
    ],
)
async def test_invalid_orders_are_rejected(sim, paper, qty, price, ord_dvsn, text):
    response = await paper.order("buy", SAMSUNG, qty, price, ord_dvsn=ord_dvsn)
    assert response.status_code == 200
    assert response.json()["rt_cd"] == "1"
    assert response.json()["msg1"] == text
    assert (await paper.daily_ccld()).json()["output1"] == []


async def test_upper_and_lower_limits_are_orderable(sim, paper):
    quote = (await paper.price(SAMSUNG)).json()["output"]
    assert (quote["stck_mxpr"], quote["stck_llam"], quote["aspr_unit"]) == ("92300", "49700", "100")
    assert (await paper.order("buy", SAMSUNG, 1, 92300)).json()["rt_cd"] == "0"
    assert (await paper.order("buy", SAMSUNG, 1, 49700)).json()["rt_cd"] == "0"


async def test_market_buy_reserves_cash_at_the_upper_limit(sim, paper, thick_book):
    # 120 x 71,100 would fit in 10,000,000, but 120 x 92,300 (upper limit) does not.
    market = await paper.order("buy", SAMSUNG, 120, 0, ord_dvsn="01")
    assert market.json()["msg1"] == "모의투자 주문가능금액을 초과 했습니다"
    limit = await paper.order("buy", SAMSUNG, 120, 71100)
    assert limit.json()["rt_cd"] == "0"


async def test_resting_buys_hold_cash(sim, paper):
    assert (await paper.order("buy", SAMSUNG, 100, 70000)).json()["rt_cd"] == "0"
    again = await paper.order("buy", SAMSUNG, 100, 70000)
    assert again.json()["msg1"] == "모의투자 주문가능금액을 초과 했습니다"


async def test_selling_more_than_held_is_rejected(sim, make_kis):
    paper = await make_kis("paper", holdings={SAMSUNG: 3})
    assert (await paper.order("sell", SAMSUNG, 2, 75000)).json()["rt_cd"] == "0"
    refused = await paper.order("sell", SAMSUNG, 2, 75000)  # only 1 left unpledged
    assert refused.json()["msg1"] == "모의투자 주문가능수량을 초과 했습니다"


async def test_real_rejections_have_no_paper_prefix(sim, real):
    response = await real.order("buy", SAMSUNG, 1, 71050)
    assert response.json()["msg1"] == "주식주문호가단위 오류입니다."
    assert response.json()["msg_cd"] == "APBK0506"


@pytest.mark.parametrize(("env", "tr_id"), [("paper", "VTTC8908R"), ("real", "TTTC8908R")])
async def test_buyable_amount(sim, make_kis, env, tr_id):
    kis = await make_kis(env)
    params = {
        **kis.acct(),
        "PDNO": SAMSUNG,
        "ORD_UNPR": "71000",
        "ORD_DVSN": "00",
        "CMA_EVLU_AMT_ICLD_YN": "N",
        "OVRS_ICLD_YN": "N",
    }
    body = (await kis.get(f"{DT}/inquire-psbl-order", tr_id, params)).json()
    assert body["msg_cd"] == ("20310000" if env == "paper" else "MCA00000")
    assert body["output"]["ord_psbl_cash"] == "10000000"
    assert body["output"]["nrcvb_buy_qty"] == str(10_000_000 // 71_000)
    market = (await kis.get(f"{DT}/inquire-psbl-order", tr_id, params | {"ORD_DVSN": "01"})).json()
    assert market["output"]["max_buy_qty"] == str(10_000_000 // 92_300)


@pytest.mark.parametrize("tr_id", ["TTTC0084R", "TTTC8036R"])
async def test_revisable_orders_on_real(sim, real, tr_id):
    sim.market.set_liquidity(SAMSUNG, 3)
    await real.order("buy", SAMSUNG, 10, 71200)  # 6 fill, 4 left
    await real.order("buy", "000660", 1, 190000)
    params = {**real.acct(), "INQR_DVSN_1": "0", "INQR_DVSN_2": "0"}
    params |= {"CTX_AREA_FK100": "", "CTX_AREA_NK100": ""}
    body = (await real.get(f"{DT}/inquire-psbl-rvsecncl", tr_id, params)).json()
    assert body["msg_cd"] == "MCA00000"
    rows = {r["pdno"]: r for r in body["output"]}
    assert rows[SAMSUNG]["psbl_qty"] == "4"
    assert rows[SAMSUNG]["tot_ccld_qty"] == "6"
    assert rows["000660"]["psbl_qty"] == "1"


async def test_balance_totals_add_up(sim, make_kis):
    paper = await make_kis("paper", cash_krw=50_000_000)
    sim.market.set_liquidity(SAMSUNG, 1000)
    sim.market.set_liquidity("000660", 1000)
    await paper.order("buy", SAMSUNG, 100, 0, ord_dvsn="01")  # 7,110,000
    await paper.order("buy", "000660", 10, 0, ord_dvsn="01")  # 1,981,000
    sim.market.set_price(SAMSUNG, 72000)
    body = (await paper.balance()).json()
    rows = {r["pdno"]: r for r in body["output1"]}
    samsung = rows[SAMSUNG]
    assert samsung["evlu_amt"] == "7200000"
    assert samsung["pchs_amt"] == "7110000"
    assert samsung["evlu_pfls_amt"] == "90000"
    assert samsung["evlu_pfls_rt"] == "1.27"
    totals = body["output2"]
    assert isinstance(totals, list) and len(totals) == 1
    t = {k: Decimal(v) for k, v in totals[0].items() if v}
    cash = 50_000_000 - 7_110_000 - 1_981_000
    assert t["dnca_tot_amt"] == 50_000_000
    assert t["prvs_rcdl_excc_amt"] == t["nxdy_excc_amt"] == cash
    assert t["thdt_buy_amt"] == 7_110_000 + 1_981_000
    assert t["pchs_amt_smtl_amt"] == 7_110_000 + 1_981_000
    assert (
        t["scts_evlu_amt"]
        == t["evlu_amt_smtl_amt"]
        == sum(Decimal(r["evlu_amt"]) for r in body["output1"])
    )
    assert t["evlu_pfls_smtl_amt"] == t["evlu_amt_smtl_amt"] - t["pchs_amt_smtl_amt"]
    assert t["tot_evlu_amt"] == t["nass_amt"] == cash + t["scts_evlu_amt"]
    assert t["bfdy_tot_asst_evlu_amt"] == 50_000_000
    assert t["asst_icdc_amt"] == t["tot_evlu_amt"] - 50_000_000


# -- the KRX clock ----------------------------------------------------------------------------


def at(text: str):
    moment = dt.datetime.fromisoformat(text).replace(tzinfo=KST)
    return lambda: moment


@pytest.mark.parametrize(
    ("env", "moment", "msg_cd", "text"),
    [
        ("paper", "2026-11-24 08:59:00", "40570000", "모의투자 장시작전 입니다."),
        ("paper", "2026-11-24 15:30:00", "40580000", "모의투자 장종료 입니다."),
        ("paper", "2026-11-28 10:00:00", "40100000", "모의투자 영업일이 아닙니다."),  # Saturday
        ("paper", "2026-12-25 10:00:00", "40100000", "모의투자 영업일이 아닙니다."),  # holiday
        ("real", "2026-11-24 16:00:00", "APBK0918", "장운영시간이 아닙니다."),
    ],
)
async def test_krx_clock_refuses_orders_outside_the_session(env, moment, msg_cd, text):
    account = make_account(env)
    sim = Simulator(accounts=[account], speed=0, clock="krx", now=at(moment), rate_limits=NO_LIMITS)
    await sim.start()
    kis = await Kis(sim, account).login()
    try:
        response = await kis.order("buy", SAMSUNG, 1, 70000)
        assert response.status_code == 200
        assert (response.json()["rt_cd"], response.json()["msg_cd"]) == ("1", msg_cd)
        assert response.json()["msg1"] == text
        assert (await kis.price(SAMSUNG)).json()["rt_cd"] == "0"  # quotes still answer
    finally:
        await kis.aclose()
        await sim.stop()


async def test_krx_clock_accepts_orders_in_the_session():
    account = make_account("paper")
    now = at("2026-11-24 10:00:00")
    sim = Simulator(accounts=[account], speed=0, clock="krx", now=now, rate_limits=NO_LIMITS)
    await sim.start()
    kis = await Kis(sim, account).login()
    try:
        assert (await kis.order("buy", SAMSUNG, 1, 70000)).json()["rt_cd"] == "0"
        async with httpx.AsyncClient(base_url=sim.paper_url) as http:
            status = (await http.get("/__sim__/status")).json()
        assert status["clock"] == {
            "mode": "krx",
            "session": "open",
            "now": "2026-11-24T10:00:00+09:00",
        }
    finally:
        await kis.aclose()
        await sim.stop()


async def test_unparseable_orders_never_reach_the_engine(sim, paper):
    await paper.order("buy", SAMSUNG, "ten", 70000)
    await paper.order("buy", SAMSUNG, 1, "7만")
    assert sim.stats.orders_received(paper.account.appkey) == 0
    await paper.order("buy", SAMSUNG, 1, 71050)  # parsed, refused by the engine
    assert sim.stats.orders_received(paper.account.appkey) == 1
    sim.stats.reset()
    assert sim.stats.orders_received(paper.account.appkey) == 0
    assert sim.stats.requests(appkey=paper.account.appkey) == []


@pytest.mark.parametrize(("ord_dvsn", "filled", "cancelled"), [("11", "6", "4"), ("12", "0", "10")])
async def test_ioc_and_fok_never_rest(sim, real, ord_dvsn, filled, cancelled):
    sim.market.set_liquidity(SAMSUNG, 3)  # 6 shares offered up to 71,200
    answer = await real.order("buy", SAMSUNG, 10, 71200, ord_dvsn=ord_dvsn)
    row = await ccld_row(real, answer.json()["output"]["ODNO"])
    assert (row["tot_ccld_qty"], row["cnc_cfrm_qty"], row["rmn_qty"]) == (filled, cancelled, "0")


async def test_ioc_is_real_only(paper):
    response = await paper.order("buy", SAMSUNG, 1, 71200, ord_dvsn="11")
    assert response.json()["msg1"] == "모의투자 주문구분 입력오류입니다."


async def test_resting_order_fills_when_the_random_walk_crosses_it(sim, paper):
    odno = (await paper.order("buy", SAMSUNG, 1, 70500)).json()["output"]["ODNO"]
    for _ in range(500):  # seeded: the same walk every run
        sim.market.step()
        if sim.market.ledgers[paper.account.appkey].orders[odno].filled:
            break
    row = await ccld_row(paper, odno)
    assert row["tot_ccld_qty"] == "1"
    assert int(row["avg_prvs"]) <= 70500


async def test_daily_executions_keep_each_order_on_its_own_date():
    """`ord_dt` and the INQR_STRT_DT/INQR_END_DT filter use the day the order was placed
    (KST), not the day of the query."""
    moments = [dt.datetime(2026, 11, 24, 10, 0, tzinfo=KST)]
    sim = Simulator(accounts=[], speed=0, now=lambda: moments[0], rate_limits=NO_LIMITS)
    await sim.start()
    try:
        kis = await Kis(sim, sim.add_account(make_account("paper", cash_krw=10_000_000))).login()
        assert (await kis.order("buy", "005930", 1, 60000)).json()["rt_cd"] == "0"
        moments[0] += dt.timedelta(days=1)

        async def rows(day: str) -> list[dict]:
            body = (await kis.daily_ccld(INQR_STRT_DT=day, INQR_END_DT=day)).json()
            assert body["rt_cd"] == "0", body
            return body["output1"]

        [row] = await rows("20261124")
        assert row["ord_dt"] == "20261124"
        assert await rows("20261125") == []
        await kis.aclose()
    finally:
        await sim.stop()


async def test_a_new_day_starts_a_new_session():
    """Past midnight KST: yesterday's last price is the new base, the day's volume restarts,
    yesterday is a daily row, start-of-day cash and today's quantities restart, and an order
    still open at the end of its day lapses (nothing left to cancel)."""
    moments = [dt.datetime(2026, 11, 24, 10, 0, tzinfo=KST)]
    sim = Simulator(accounts=[], speed=0, now=lambda: moments[0], rate_limits=NO_LIMITS)
    await sim.start()
    try:
        kis = await Kis(sim, sim.add_account(make_account("paper", cash_krw=10_000_000))).login()
        sim.market.set_liquidity("005930", 100)
        assert (await kis.order("buy", "005930", 2, 0, ord_dvsn="01")).json()["rt_cd"] == "0"
        resting = (await kis.order("buy", "005930", 1, 60000)).json()["output"]["ODNO"]
        sim.market.set_price("005930", 72500)
        cash = (await kis.balance()).json()["output2"][0]["prvs_rcdl_excc_amt"]

        moments[0] = dt.datetime(2026, 11, 25, 9, 30, tzinfo=KST)
        quote = (await kis.price("005930")).json()["output"]
        assert (quote["stck_sdpr"], quote["stck_prpr"], quote["prdy_vrss"]) == (
            "72500",
            "72500",
            "0",
        )
        assert quote["acml_vol"] == "0"
        daily = {
            "FID_COND_MRKT_DIV_CODE": "J",
            "FID_INPUT_ISCD": "005930",
            "FID_PERIOD_DIV_CODE": "D",
            "FID_ORG_ADJ_PRC": "0",
        }
        rows = (await kis.get(f"{DQ}/inquire-daily-price", "FHKST01010400", daily)).json()
        assert [(r["stck_bsop_date"], r["stck_clpr"]) for r in rows["output"][:2]] == [
            ("20261125", "72500"),
            ("20261124", "72500"),
        ]
        balance = (await kis.balance()).json()
        [row] = balance["output1"]
        assert (row["hldg_qty"], row["thdt_buyqty"]) == ("2", "0")
        assert balance["output2"][0]["dnca_tot_amt"] == cash
        yesterday = (
            await kis.daily_ccld(INQR_STRT_DT="20261124", INQR_END_DT="20261124", ODNO=resting)
        ).json()["output1"]
        assert [(r["rmn_qty"], r["cnc_cfrm_qty"]) for r in yesterday] == [("0", "1")]
        cancel = (await kis.rvsecncl(resting, "02")).json()
        assert cancel["msg_cd"] == "40330000", cancel
        await kis.aclose()
    finally:
        await sim.stop()
