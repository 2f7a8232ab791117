"""Answer parsing on bodies alone, no sockets: the example bodies KIS publishes (files in
``bodies/``, each with its source) and small hand-made bodies for the edge rules."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from kisweb.kis import MalformedAnswer, Side, UsExchange
from kisweb.kis.parsing import (
    parse_access_token,
    parse_approval_key,
    parse_balance,
    parse_daily_candles,
    parse_executions,
    parse_minute_candles,
    parse_order_ack,
    parse_order_book,
    parse_quote,
    parse_revisable_orders,
    parse_us_quote,
)

BODIES = Path(__file__).parent / "bodies"


def published(name: str) -> dict:
    document = json.loads((BODIES / f"{name}.json").read_text(encoding="utf-8"))
    assert document["source"]  # every body says where it was published
    return document["body"]


# -- bodies KIS publishes ---------------------------------------------------------------------


def test_the_published_quote_body_reads_every_field_kisweb_uses():
    quote = parse_quote(published("inquire_price_000660"), "000660")
    assert quote.symbol == "000660"
    assert (quote.price, quote.change, quote.change_rate) == (
        Decimal(128500),
        Decimal(0),
        Decimal("0.00"),
    )
    assert (quote.open, quote.high, quote.low, quote.previous_close) == (
        Decimal(128500),
        Decimal(130000),
        Decimal(128500),
        Decimal(128500),
    )
    assert (quote.upper_limit, quote.lower_limit) == (Decimal(167000), Decimal(90000))
    assert quote.tick_size == Decimal(500)
    assert quote.volume == 2669075 and isinstance(quote.volume, int)
    assert quote.trade_value == Decimal(344570137500)
    assert quote.market_name == "KOSPI200"
    assert quote.halted is False


def test_the_published_minute_bars_come_out_oldest_first():
    bars = parse_minute_candles(published("inquire_time_itemchartprice_000660"))
    assert [(bar.date, bar.time) for bar in bars] == [
        (date(2022, 9, 2), time(9, 59)),
        (date(2022, 9, 2), time(10, 0)),
    ]
    last = bars[-1]
    assert (last.open, last.high, last.low, last.close) == (
        Decimal(92400),
        Decimal(92500),
        Decimal(92400),
        Decimal(92500),
    )
    assert last.volume == 1383  # cntg_vol: this bar's volume, not the day's
    assert last.trade_value == Decimal(55858827400)


def test_the_published_order_answer_names_the_order():
    ack = parse_order_ack(published("order_accepted_real"))
    assert (ack.order_no, ack.branch_no, ack.time) == ("0001569138", "06010", time(13, 14, 21))
    assert ack.message == "주문 전송 완료 되었습니다."


# -- edge rules -------------------------------------------------------------------------------


def test_an_accepted_order_without_its_number_is_malformed():
    body = {
        "rt_cd": "0",
        "msg_cd": "40600000",
        "msg1": "모의투자 매수주문이 완료 되었습니다.",
        "output": {"KRX_FWDG_ORD_ORGNO": "00950", "ORD_TMD": "090101"},
    }
    with pytest.raises(MalformedAnswer) as unreadable:
        parse_order_ack(body)
    assert unreadable.value.message == "answer without ODNO"


def test_trailing_spaces_are_stripped_and_an_empty_number_reads_as_zero():
    body = {
        "output": {
            "stck_prpr": "71000 ",
            "prdy_vrss": "",
            "prdy_ctrt": "0.00",
            "stck_oprc": "70900",
            "stck_hgpr": "71200",
            "stck_lwpr": "70800",
            "stck_sdpr": "71000",
            "stck_mxpr": "92300",
            "stck_llam": "49700",
            "aspr_unit": "100",
            "acml_vol": "",
            "acml_tr_pbmn": "0",
            "temp_stop_yn": "Y",
        }
    }
    quote = parse_quote(body, "005930")
    assert quote.price == Decimal(71000) and quote.change == Decimal(0) and quote.volume == 0
    assert quote.market_name == "" and quote.halted is True


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("stck_prpr", "7l000", "stck_prpr is not a number"),
        ("aspr_unit", None, "answer without aspr_unit"),
    ],
)
def test_a_bad_or_missing_quote_field_is_malformed(field, value, message):
    body = published("inquire_price_000660")
    output = {**body["output"], field: value}
    if value is None:
        del output[field]
    with pytest.raises(MalformedAnswer) as unreadable:
        parse_quote({**body, "output": output}, "000660")
    assert unreadable.value.message == message


def test_an_answer_without_its_output_is_malformed():
    with pytest.raises(MalformedAnswer):
        parse_quote({"rt_cd": "0", "msg_cd": "MCA00000", "msg1": "정상처리 되었습니다."}, "005930")


def test_daily_candles_skip_padding_rows_and_come_out_oldest_first():
    row = {
        "stck_oprc": "70000",
        "stck_hgpr": "71000",
        "stck_lwpr": "69000",
        "stck_clpr": "70500",
        "acml_vol": "100",
        "acml_tr_pbmn": "7050000",
    }
    body = {
        "output2": [
            {**row, "stck_bsop_date": "20260103"},
            {**row, "stck_bsop_date": "20260102"},
            {"stck_bsop_date": ""},
        ]
    }
    candles = parse_daily_candles(body)
    assert [c.date for c in candles] == [date(2026, 1, 2), date(2026, 1, 3)]
    assert all(c.time is None and c.close == Decimal(70500) for c in candles)


def test_an_order_book_reads_ten_levels_a_side_and_the_expected_match():
    book = {f"askp{i}": str(71000 + 100 * i) for i in range(1, 11)}
    book |= {f"bidp{i}": str(71000 - 100 * (i - 1)) for i in range(1, 11)}
    book |= {f"askp_rsqn{i}": str(10 * i) for i in range(1, 11)}
    book |= {f"bidp_rsqn{i}": str(20 * i) for i in range(1, 11)}
    book |= {"aspr_acpt_hour": "93015", "total_askp_rsqn": "550", "total_bidp_rsqn": "1100"}
    snapshot = parse_order_book(
        {"output1": book, "output2": {"antc_cnpr": "71050", "antc_vol": "12"}}, "005930"
    )
    assert snapshot.time == time(9, 30, 15)  # KIS drops the leading zero at times
    assert snapshot.asks[0].price == Decimal(71100) and snapshot.bids[0].price == Decimal(71000)
    assert [level.quantity for level in snapshot.bids] == [20 * i for i in range(1, 11)]
    assert (snapshot.expected_price, snapshot.expected_quantity) == (Decimal(71050), 12)
    without_match = parse_order_book({"output1": book, "output2": {}}, "005930")
    assert (without_match.expected_price, without_match.expected_quantity) == (None, None)


def test_balance_pages_join_and_sold_out_rows_are_left_out():
    def holding(symbol: str, quantity: str) -> dict:
        return {
            "pdno": symbol,
            "prdt_name": "",
            "hldg_qty": quantity,
            "ord_psbl_qty": quantity,
            "pchs_avg_pric": "71200.0000",
            "pchs_amt": "712000",
            "prpr": "72000",
            "evlu_amt": "720000",
            "evlu_pfls_amt": "8000",
            "evlu_pfls_rt": "1.12",
        }

    totals = {
        "dnca_tot_amt": "1000000",
        "prvs_rcdl_excc_amt": "990000",
        "scts_evlu_amt": "720000",
        "tot_evlu_amt": "1710000",
        "nass_amt": "1710000",
        "pchs_amt_smtl_amt": "712000",
        "evlu_pfls_smtl_amt": "8000",
    }
    first = {"output1": [holding("005930", "10"), holding("000660", "0")], "output2": [{}]}
    last = {"output1": [holding("035720", "3")], "output2": [totals]}
    balance = parse_balance([first, last], complete=True)
    assert [(h.symbol, h.quantity) for h in balance.holdings] == [("005930", 10), ("035720", 3)]
    assert balance.holdings[0].average_price == Decimal("71200.0000")
    assert (balance.cash, balance.cash_d2) == (Decimal(1000000), Decimal(990000))
    assert balance.complete


def test_executions_read_sides_and_the_last_pages_totals():
    row = {
        "ord_dt": "20260105",
        "odno": "0000001234",
        "pdno": "005930",
        "ord_qty": "3",
        "ord_unpr": "70000",
        "tot_ccld_qty": "1",
        "avg_prvs": "70000",
        "tot_ccld_amt": "70000",
        "rmn_qty": "2",
        "ord_tmd": "090000",
    }
    pages = [
        {"output1": [{**row, "sll_buy_dvsn_cd": "02"}]},
        {
            "output1": [{**row, "sll_buy_dvsn_cd": "01", "cncl_yn": "Y"}],
            "output2": {
                "tot_ord_qty": "6",
                "tot_ccld_qty": "2",
                "tot_ccld_amt": "140000",
                "prsm_tlex_smtl": "21",
            },
        },
    ]
    executions = parse_executions(pages, complete=False)
    assert [(r.side, r.cancelled) for r in executions.rows] == [
        (Side.BUY, False),
        (Side.SELL, True),
    ]
    assert (executions.total_quantity, executions.estimated_fees) == (6, Decimal(21))
    assert not executions.complete


def test_an_unknown_side_code_is_malformed():
    row = {
        "odno": "1",
        "ord_gno_brno": "06010",
        "pdno": "005930",
        "sll_buy_dvsn_cd": "03",
        "ord_qty": "1",
        "ord_unpr": "1",
        "tot_ccld_qty": "0",
        "psbl_qty": "1",
    }
    with pytest.raises(MalformedAnswer):
        parse_revisable_orders([{"output": [row]}])


def test_a_us_quote_keeps_the_realtime_key_and_reads_ordy():
    body = {
        "output": {
            "rsym": "DNASAAPL",
            "zdiv": "4",
            "base": "189.9800",
            "last": "190.1200",
            "diff": "0.1400",
            "rate": "+0.07",
            "tvol": "12345",
            "tamt": "2347000",
            "ordy": "N",
        }
    }
    quote = parse_us_quote(body, "AAPL", UsExchange.NASDAQ)
    assert (quote.realtime_key, quote.price, quote.decimals) == ("DNASAAPL", Decimal("190.1200"), 4)
    assert quote.change_rate == Decimal("0.07") and quote.orderable is False


def test_token_answers_carry_their_lifetime():
    issued = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
    token = parse_access_token(
        {
            "access_token": "eyJ0eXAi",
            "token_type": "Bearer",
            "expires_in": 86400,
            "access_token_token_expired": "2026-01-06 09:00:00",
        },
        issued,
    )
    assert (token.issued_at, token.expires_at) == (issued, issued + timedelta(days=1))
    approval = parse_approval_key({"approval_key": "a1b2c3"}, issued)
    assert approval.expires_at == issued + timedelta(hours=24)
    with pytest.raises(MalformedAnswer):
        parse_access_token({"access_token": "x", "expires_in": "soon"}, issued)
    with pytest.raises(MalformedAnswer):
        parse_approval_key({}, issued)


@pytest.mark.parametrize("branch", ["0601099999", "06O10", "０６０１０", "1 2"])
def test_a_branch_number_that_is_not_one_is_malformed(branch):
    """It is written to the journal (8 characters) and sent back to cancel the order."""
    execution = {
        "ord_dt": "20260105",
        "odno": "0000001234",
        "ord_gno_brno": branch,
        "pdno": "005930",
        "sll_buy_dvsn_cd": "02",
        "ord_qty": "3",
        "ord_unpr": "70000",
        "tot_ccld_qty": "1",
        "avg_prvs": "70000",
        "tot_ccld_amt": "70000",
        "rmn_qty": "2",
        "ord_tmd": "090000",
    }
    with pytest.raises(MalformedAnswer, match="ord_gno_brno"):
        parse_executions([{"output1": [execution]}], complete=True)
    revisable = {**execution, "odno": "1", "psbl_qty": "1"}
    with pytest.raises(MalformedAnswer, match="ord_gno_brno"):
        parse_revisable_orders([{"output": [revisable]}])


def test_executions_without_a_branch_number_read_it_as_blank():
    execution = {
        "ord_dt": "20260105",
        "odno": "0000001234",
        "pdno": "005930",
        "sll_buy_dvsn_cd": "02",
        "ord_qty": "3",
        "ord_unpr": "70000",
        "tot_ccld_qty": "1",
        "avg_prvs": "70000",
        "tot_ccld_amt": "70000",
        "rmn_qty": "2",
        "ord_tmd": "090000",
    }
    (row,) = parse_executions([{"output1": [execution]}], complete=True).rows
    assert row.branch_no == ""
