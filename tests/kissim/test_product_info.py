"""TRs that python-kis and the official examples call for lookups, US quotes and the overseas
balance: CTPF1604R search-info, HHDFS76200200 price-detail, HHDFS76200100 US order book,
CTRP6504R/VTRP6504R present balance (docs/kis-protocol.md §4.2, §4.3)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from .conftest import DQ, OQ, OT, Kis, all_strings

SEARCH_INFO = f"{DQ}/search-info"
PRICE_DETAIL = f"{OQ}/price-detail"
PRESENT_BALANCE = f"{OT}/inquire-present-balance"


async def search_info(kis: Kis, code: str, product_type: str) -> dict:
    params = {"PDNO": code, "PRDT_TYPE_CD": product_type}
    response = await kis.get(SEARCH_INFO, "CTPF1604R", params)
    assert response.status_code == 200
    return response.json()


async def test_search_info_describes_a_krx_share(real):
    body = await search_info(real, "005930", "300")
    assert (body["rt_cd"], body["msg_cd"], body["msg1"]) == ("0", "KIOK0530", "조회되었습니다")
    out = body["output"]
    assert (out["pdno"], out["shtn_pdno"], out["prdt_type_cd"]) == ("005930", "005930", "300")
    assert (out["prdt_name"], out["prdt_abrv_name"]) == ("삼성전자", "삼성전자")
    assert out["std_pdno"] == "KR7005930003"
    assert all_strings(body)


async def test_search_info_describes_a_us_listing(real):
    out = (await search_info(real, "AAPL", "512"))["output"]
    assert (out["pdno"], out["prdt_name"], out["prdt_type_cd"]) == ("AAPL", "애플", "512")
    assert (out["prdt_clsf_cd"], out["prdt_clsf_name"], out["ivst_prdt_type_cd"]) == (
        "101210",
        "해외주식",
        "1012",
    )


async def test_search_info_answers_no_data_for_another_product_type(real):
    """python-kis tries 512, 513, 529 in turn and moves on at rt_cd 7."""
    answers = [await search_info(real, "KO", kind) for kind in ("512", "513", "529")]
    assert [a["rt_cd"] for a in answers] == ["7", "0", "7"]
    assert (answers[0]["msg_cd"], answers[0]["msg1"]) == ("KIOK0560", "조회할 내용이 없습니다")
    unknown = await search_info(real, "999999", "300")
    assert (unknown["rt_cd"], unknown["msg_cd"]) == ("7", "KIOK0560")


async def test_search_info_price_detail_and_us_book_are_real_host_only(paper):
    for path, tr_id, params in (
        (SEARCH_INFO, "CTPF1604R", {"PDNO": "005930", "PRDT_TYPE_CD": "300"}),
        (PRICE_DETAIL, "HHDFS76200200", {"AUTH": "", "EXCD": "NAS", "SYMB": "AAPL"}),
        (f"{OQ}/inquire-asking-price", "HHDFS76200100", {"EXCD": "NAS", "SYMB": "AAPL"}),
    ):
        response = await paper.get(path, tr_id, params)
        assert response.status_code == 500
        assert response.json()["msg_cd"] == "OPSQ0002"


async def test_search_info_requires_its_fields(real):
    response = await real.get(SEARCH_INFO, "CTPF1604R", {"PDNO": "005930"})
    assert (response.json()["rt_cd"], response.json()["msg1"]) == (
        "2",
        "INPUT_FIELD_NAME PRDT_TYPE_CD",
    )


async def price_detail(kis: Kis, symbol: str, excd: str = "NAS") -> dict:
    params = {"AUTH": "", "EXCD": excd, "SYMB": symbol}
    response = await kis.get(PRICE_DETAIL, "HHDFS76200200", params)
    assert response.status_code == 200
    return response.json()


async def test_price_detail_agrees_with_price_and_adds_the_detail(sim, real):
    sim.market.set_price("AAPL", Decimal("199.37"))
    body = await price_detail(real, "AAPL")
    assert (body["rt_cd"], body["msg_cd"]) == ("0", "MCA00000")
    out = body["output"]
    params = {"AUTH": "", "EXCD": "NAS", "SYMB": "AAPL"}
    price = (await real.get(f"{OQ}/price", "HHDFS00000300", params)).json()["output"]
    for field in ("rsym", "last", "base", "tvol", "pvol", "zdiv"):
        assert out[field] == price[field], field
    assert (out["last"], out["base"], out["t_xsgn"]) == ("199.3700", "189.8400", "2")
    assert (out["t_rate"], out["t_xprc"], out["p_xprc"]) == ("1380.0000", "275131", "261979")
    assert (out["e_ordyn"], out["e_hogau"], out["curr"], out["vnit"]) == (
        "매매 가능",
        "0.0100",
        "USD",
        "1",
    )
    assert Decimal(out["h52p"]) >= Decimal(out["l52p"]) > 0
    assert len(out["h52d"]) == len(out["l52d"]) == 8
    assert Decimal(out["tomv"]) == Decimal("199.37") * int(out["shar"])
    assert all_strings(body)


async def test_price_detail_of_an_unknown_or_misplaced_ticker(real):
    assert (await price_detail(real, "NOPE"))["rt_cd"] == "1"
    assert (await price_detail(real, "AAPL", "NYS"))["rt_cd"] == "1"


def present_params(kis: Kis, country: str = "000", market: str = "00") -> dict[str, str]:
    return {
        **kis.acct(),
        "WCRC_FRCR_DVSN_CD": "02",
        "NATN_CD": country,
        "TR_MKET_CD": market,
        "INQR_DVSN_CD": "00",
    }


async def present_balance(kis: Kis, **where: str) -> dict:
    response = await kis.get(PRESENT_BALANCE, kis.tr("CTRP6504R"), present_params(kis, **where))
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize("env", ["paper", "real"])
async def test_present_balance_after_a_us_buy(sim, make_kis, env):
    kis = await make_kis(env, cash_usd=10_000)
    sim.market.set_liquidity("AAPL", 100)
    order = {
        **kis.acct(),
        "OVRS_EXCG_CD": "NASD",
        "PDNO": "AAPL",
        "ORD_QTY": "4",
        "OVRS_ORD_UNPR": "200.00",
        "CTAC_TLNO": "",
        "MGCO_APTM_ODNO": "",
        "SLL_TYPE": "",
        "ORD_SVR_DVSN_CD": "0",
        "ORD_DVSN": "00",
    }
    bought = await kis.post(f"{OT}/order", kis.tr("TTTT1002U"), order)
    assert bought.json()["rt_cd"] == "0", bought.json()
    body = await present_balance(kis)
    assert body["rt_cd"] == "0"
    assert body["msg_cd"] == ("20310000" if kis.paper else "MCA00000")
    (row,) = body["output1"]
    cost = Decimal(row["frcr_pchs_amt"])
    assert (row["pdno"], row["prdt_name"], row["ovrs_excg_cd"]) == ("AAPL", "애플", "NASD")
    assert (row["ccld_qty_smtl1"], row["cblc_qty13"], row["ord_psbl_qty1"]) == ("4", "4", "4")
    assert (row["thdt_buy_ccld_qty1"], row["bass_exrt"]) == ("4", "1380.00000000")
    assert Decimal(row["thdt_buy_ccld_frcr_amt"]) == cost
    assert Decimal(row["avg_unpr3"]) * 4 == cost
    assert Decimal(row["pchs_rmnd_wcrc_amt"]) == (cost * 1380).quantize(Decimal(1))
    (usd,) = body["output2"]
    assert usd["crcy_cd"] == "USD"
    assert Decimal(usd["frcr_dncl_amt_2"]) == Decimal(10_000) - cost
    assert usd["frcr_drwg_psbl_amt_1"] == usd["frcr_dncl_amt_2"]  # nothing left open
    totals = body["output3"]
    assert Decimal(totals["pchs_amt_smtl"]) == (cost * 1380).quantize(Decimal(1))
    deposit = Decimal(totals["tot_dncl_amt"])
    value = Decimal(totals["evlu_amt_smtl"])
    assert Decimal(totals["tot_asst_amt"]) == deposit + value
    assert all_strings(body)


async def test_present_balance_filters_by_country_and_market(sim, make_kis):
    kis = await make_kis("real")
    sim.market.set_liquidity("KO", 100)
    order = {
        **kis.acct(),
        "OVRS_EXCG_CD": "NYSE",
        "PDNO": "KO",
        "ORD_QTY": "2",
        "OVRS_ORD_UNPR": "70.00",
        "CTAC_TLNO": "",
        "MGCO_APTM_ODNO": "",
        "SLL_TYPE": "",
        "ORD_SVR_DVSN_CD": "0",
        "ORD_DVSN": "00",
    }
    assert (await kis.post(f"{OT}/order", "TTTT1002U", order)).json()["rt_cd"] == "0"
    us_all = await present_balance(kis, country="840", market="00")
    nyse = await present_balance(kis, country="840", market="02")
    nasdaq = await present_balance(kis, country="840", market="01")
    hong_kong = await present_balance(kis, country="344", market="01")
    assert [r["pdno"] for r in us_all["output1"]] == ["KO"]
    assert [r["pdno"] for r in nyse["output1"]] == ["KO"]
    assert nasdaq["output1"] == hong_kong["output1"] == []


async def test_present_balance_on_the_wrong_host_and_without_its_fields(sim, real, paper):
    wrong = await paper.get(PRESENT_BALANCE, "CTRP6504R", present_params(paper))
    assert (wrong.status_code, wrong.json()["msg_cd"]) == (500, "EGW00213")
    params = present_params(real)
    del params["NATN_CD"]
    missing = await real.get(PRESENT_BALANCE, "CTRP6504R", params)
    assert missing.json()["msg1"] == "INPUT_FIELD_NAME NATN_CD"


async def test_us_asking_price_has_ten_levels_each_side(sim, real):
    """python-kis sends EXCD and SYMB only (no AUTH) and reads output2's pask/vask/pbid/vbid."""
    response = await real.get(
        f"{OQ}/inquire-asking-price", "HHDFS76200100", {"EXCD": "NAS", "SYMB": "AAPL"}
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["rt_cd"], body["output1"]["rsym"], body["output1"]["code"]) == (
        "0",
        "DNASAAPL",
        "AAPL",
    )
    book = body["output2"]
    asks = [Decimal(book[f"pask{i}"]) for i in range(1, 11)]
    bids = [Decimal(book[f"pbid{i}"]) for i in range(1, 11)]
    assert asks == [Decimal("189.84") + Decimal("0.01") * i for i in range(1, 11)]
    assert bids == [Decimal("189.84") - Decimal("0.01") * i for i in range(0, 10)]
    assert int(body["output1"]["avol"]) == sum(int(book[f"vask{i}"]) for i in range(1, 11))
    assert int(body["output1"]["bvol"]) == sum(int(book[f"vbid{i}"]) for i in range(1, 11))
    assert all_strings(body)
