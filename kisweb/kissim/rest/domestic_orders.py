"""Domestic stock orders and the account: order, revise/cancel, executions, balance (§4.1)."""

from __future__ import annotations

from decimal import Decimal

from .. import wire
from ..clock import KST, Session
from ..market import VENUES, Ledger, Order, Rejected
from ..symbols import KRW
from ..wire import Answer, ApiError, OrderKind, Side
from .domestic_quotes import domestic_symbol
from .tr import (
    KIND_NAMES,
    PAGE_SIZES,
    Reply,
    Request,
    fill_state_matches,
    order_kind,
    paginate,
    parse_price,
    parse_qty,
)

CLOSED_ANSWERS = {
    ("paper", Session.PRE_OPEN): ("40570000", "모의투자 장시작전 입니다."),
    ("paper", Session.CLOSED): ("40580000", "모의투자 장종료 입니다."),
    ("paper", Session.HOLIDAY): ("40100000", "모의투자 영업일이 아닙니다."),
    ("real", Session.PRE_OPEN): ("APBK0918", "장운영시간이 아닙니다."),
    ("real", Session.CLOSED): ("APBK0918", "장운영시간이 아닙니다."),
    ("real", Session.HOLIDAY): ("APBK0919", "장운영일자가 주문일과 상이합니다"),
}
ORD_DVSN_NAMES = {
    "00": "지정가",
    "01": "시장가",
    "02": "조건부지정가",
    "03": "최유리지정가",
    "04": "최우선지정가",
    "11": "IOC지정가",
    "12": "FOK지정가",
    "13": "IOC시장가",
    "14": "FOK시장가",
    "05": "장전시간외",
    "06": "장후시간외",
    "07": "시간외단일가",
    "15": "IOC최유리",
    "16": "FOK최유리",
}


def _ord_dvsn_name(code: str) -> str:
    return ORD_DVSN_NAMES.get(code, "지정가")


VENUE_NAMES = {"KRX": "한국거래소", "NXT": "넥스트레이드", "SOR": "SOR"}


def _venue(req: Request) -> str:
    """EXCG_ID_DVSN_CD; optional on the wire (older clients leave it out): then KRX."""
    return req.get("EXCG_ID_DVSN_CD").upper() or "KRX"


def _check_session(req: Request, venue: str = "KRX", ord_dvsn: str = "00") -> None:
    """Domestic orders wait for a session of their venue that takes their order type."""
    session = req.sim.clock.order_session(req.env, venue, ord_dvsn)
    if session is not Session.OPEN:
        msg_cd, msg1 = CLOSED_ANSWERS[(req.env, session)]
        raise ApiError(Answer(msg_cd, msg1))


def order_cash(req: Request) -> Reply:
    req.check_account()
    code, ord_dvsn, qty, price = req.need("PDNO", "ORD_DVSN", "ORD_QTY", "ORD_UNPR")
    venue = _venue(req)
    if venue not in VENUES:
        raise Rejected("venue")
    if req.env == "paper" and venue != "KRX":
        raise Rejected("venue_paper")
    _check_session(req, venue, ord_dvsn)
    quantity, unit_price = parse_qty(qty), parse_price(price)
    side = Side(req.arg)
    req.sim.stats.count_order(req.ledger.account.appkey)
    order = req.sim.market.submit_order(
        req.ledger, code, side, ord_dvsn, quantity, unit_price, venue
    )
    return req.order_output(order, "buy" if side is Side.BUY else "sell"), ""


def order_rvsecncl(req: Request) -> Reply:
    req.check_account()
    orgn, ord_dvsn, kind_code, qty, price, all_yn = req.need(
        "ORGN_ODNO", "ORD_DVSN", "RVSE_CNCL_DVSN_CD", "ORD_QTY", "ORD_UNPR", "QTY_ALL_ORD_YN"
    )
    kind = order_kind(kind_code)
    original = req.ledger.orders.get(orgn.lstrip("0").zfill(10))
    _check_session(req, original.venue if original else "KRX", ord_dvsn)
    quantity, unit_price = parse_qty(qty or "0"), parse_price(price)
    req.sim.stats.count_order(req.ledger.account.appkey)
    row = req.sim.market.revise_or_cancel(
        req.ledger, orgn, kind, ord_dvsn, quantity, unit_price, all_yn == "Y"
    )
    return req.order_output(row, "revise" if kind is OrderKind.REVISE else "cancel"), ""


def psbl_rvsecncl(req: Request) -> Reply:
    req.check_account()
    _, side = req.need("INQR_DVSN_1", "INQR_DVSN_2")
    wanted = {"1": Side.SELL, "2": Side.BUY}.get(side)
    with req.sim.market.lock:
        rows = [
            o
            for o in req.sim.market.open_orders(req.ledger)
            if side in ("", "0") or o.side == wanted
        ]
        page, ctx, tr_cont = paginate(
            req,
            rows,
            lambda o: o.odno,
            PAGE_SIZES["psbl_rvsecncl"][req.env],
            100,
            req.ledger.account.account_no,
        )
        output = [
            {
                "ord_gno_brno": o.orgno,
                "odno": o.odno,
                "orgn_odno": o.orgn_odno,
                "ord_dvsn_name": _ord_dvsn_name(o.ord_dvsn),
                "pdno": o.symbol.code,
                "prdt_name": o.symbol.name,
                "rvse_cncl_dvsn_name": KIND_NAMES[o.kind],
                "ord_qty": str(o.qty),
                "ord_unpr": wire.amount(o.price),
                "ord_tmd": wire.hhmmss(o.time),
                "tot_ccld_qty": str(o.filled),
                "tot_ccld_amt": wire.amount(o.filled_amount),
                "psbl_qty": str(o.remaining),
                "sll_buy_dvsn_cd": o.side,
                "ord_dvsn_cd": o.ord_dvsn,
                "mgco_aptm_odno": "",
                "excg_dvsn_cd": "01",
                "excg_id_dvsn_cd": o.venue,
                "excg_id_dvsn_name": VENUE_NAMES.get(o.venue, o.venue),
                "stpm_cndt_pric": "0",
                "stpm_efct_occr_yn": "N",
            }
            for o in page
        ]
    return req.ok_inquiry(**ctx, output=output), tr_cont


def daily_ccld(req: Request) -> Reply:
    req.check_account()
    start, end, side, order_dir, code, ccld, odno = req.need(
        "INQR_STRT_DT",
        "INQR_END_DT",
        "SLL_BUY_DVSN_CD",
        "INQR_DVSN",
        "PDNO",
        "CCLD_DVSN",
        "ODNO",
    )
    today = wire.yyyymmdd(req.sim.clock.now())
    venue = _venue(req) if req.get("EXCG_ID_DVSN_CD") else ""  # optional; ALL: every venue
    with req.sim.market.lock:
        rows = [
            o
            for o in req.ledger.orders.values()
            if o.symbol.domestic
            and (start or today) <= wire.yyyymmdd(o.time.astimezone(KST)) <= (end or today)
            and (side in ("", "00") or o.side == side)
            and (not code or o.symbol.code == code)
            and (not odno or o.odno == odno.zfill(10))
            and fill_state_matches(ccld, o)
            and venue in ("", "ALL", o.venue)
        ]
        if order_dir != "01":
            rows.reverse()
        fingerprint = f"{req.ledger.account.account_no}^{start}^{end}^{side}^{order_dir}^{code}"
        page, ctx, tr_cont = paginate(
            req, rows, lambda o: o.odno, PAGE_SIZES["daily_ccld"][req.env], 100, fingerprint
        )
        output1 = [_ccld_row(o) for o in page]
        filled = sum(o.filled for o in rows)
        filled_amt = sum((o.filled_amount for o in rows), Decimal(0))
        output2 = {
            "tot_ord_qty": str(sum(o.qty for o in rows)),
            "tot_ccld_qty": str(filled),
            "tot_ccld_amt": wire.amount(filled_amt),
            "prsm_tlex_smtl": "0",
            "pchs_avg_pric": wire.fixed(filled_amt / filled if filled else 0, 4),
        }
    return req.ok_inquiry(**ctx, output1=output1, output2=output2), tr_cont


def _ccld_row(o: Order) -> dict[str, str]:
    return {
        "ord_dt": wire.yyyymmdd(o.time.astimezone(KST)),
        "ord_gno_brno": o.orgno,
        "odno": o.odno,
        "orgn_odno": o.orgn_odno,
        "ord_dvsn_name": _ord_dvsn_name(o.ord_dvsn),
        "sll_buy_dvsn_cd": o.side,
        "sll_buy_dvsn_cd_name": "현금매수" if o.side is Side.BUY else "현금매도",
        "pdno": o.symbol.code,
        "prdt_name": o.symbol.name,
        "ord_qty": str(o.qty),
        "ord_unpr": wire.amount(o.price),
        "ord_tmd": wire.hhmmss(o.time),
        "tot_ccld_qty": str(o.filled),
        "avg_prvs": wire.amount(o.avg_price),
        "cncl_yn": "Y" if o.kind is OrderKind.CANCEL else "N",
        "tot_ccld_amt": wire.amount(o.filled_amount),
        "loan_dt": "",
        "ordr_empno": "OpenAPI",
        "ord_dvsn_cd": o.ord_dvsn,
        "cnc_cfrm_qty": str(o.cancelled),
        "rmn_qty": str(max(o.remaining, 0)),
        "rjct_qty": str(o.rejected),
        "ccld_cndt_name": "없음",
        "inqr_ip_addr": "",
        "cpbc_ordp_ord_rcit_dvsn_cd": "",
        "cpbc_ordp_infm_mthd_dvsn_cd": "",
        "infm_tmd": "",
        "ctac_tlno": "",
        "prdt_type_cd": "300",
        "excg_dvsn_cd": "02",
        "cpbc_ordp_mtrl_dvsn_cd": "",
        "ord_orgno": o.orgno,
        "rsvn_ord_end_dt": "",
        "excg_id_dvsn_Cd": o.venue,  # sic: KIS spells this one with a capital C (§4.1)
        "stpm_cndt_pric": "0",
        "stpm_efct_occr_dtmd": "",
    }


def balance(req: Request) -> Reply:
    req.check_account()
    req.need("AFHR_FLPR_YN", "INQR_DVSN", "UNPR_DVSN", "FUND_STTL_ICLD_YN", "PRCS_DVSN")
    ledger = req.ledger
    with req.sim.market.lock:
        positions = ledger.positions(KRW)
        page, ctx, tr_cont = paginate(
            req,
            positions,
            lambda h: h.symbol.code,
            PAGE_SIZES["balance"][req.env],
            100,
            ledger.account.account_no,
        )
        output1 = []
        for h in page:
            sym = h.symbol
            cost = h.avg * h.qty
            value = sym.price * h.qty
            output1.append(
                {
                    "pdno": sym.code,
                    "prdt_name": sym.name,
                    "trad_dvsn_name": "현금",
                    "bfdy_buy_qty": "0",
                    "bfdy_sll_qty": "0",
                    "thdt_buyqty": str(h.buy_qty_today),
                    "thdt_sll_qty": str(h.sell_qty_today),
                    "hldg_qty": str(h.qty),
                    "ord_psbl_qty": str(ledger.sellable(sym.code)),
                    "pchs_avg_pric": wire.fixed(h.avg, 4),
                    "pchs_amt": wire.amount(cost),
                    "prpr": wire.amount(sym.price),
                    "evlu_amt": wire.amount(value),
                    "evlu_pfls_amt": wire.amount(value - cost),
                    "evlu_pfls_rt": wire.rate(value - cost, cost),
                    "evlu_erng_rt": wire.rate(value - cost, cost, 8),
                    "loan_dt": "",
                    "loan_amt": "0",
                    "stln_slng_chgs": "0",
                    "expd_dt": "",
                    "fltt_rt": str(sym.change_rate),
                    "bfdy_cprs_icdc": wire.amount(sym.change),
                    "item_mgna_rt_name": "20%",
                    "grta_rt_name": "",
                    "sbst_pric": wire.amount(sym.price * Decimal("0.7")),
                    "stck_loan_unpr": "0",
                }
            )
        output2 = [_balance_totals(ledger)]
    return req.ok_inquiry(**ctx, output1=output1, output2=output2), tr_cont


def _balance_totals(ledger: Ledger) -> dict[str, str]:
    """Domestic output2: settled cash plus holdings at the last price, as one row."""
    positions = ledger.positions(KRW)
    cost = sum((h.avg * h.qty for h in positions), Decimal(0))
    value = sum((h.symbol.price * h.qty for h in positions), Decimal(0))
    cash = ledger.cash[KRW]
    total = cash + value
    yesterday = ledger.start_cash[KRW] + sum(
        (h.symbol.base * h.start_qty for h in ledger.holdings.values() if h.symbol.domestic),
        Decimal(0),
    )
    return {
        "dnca_tot_amt": wire.amount(ledger.start_cash[KRW]),
        "nxdy_excc_amt": wire.amount(cash),
        "prvs_rcdl_excc_amt": wire.amount(cash),
        "cma_evlu_amt": "0",
        "bfdy_buy_amt": "0",
        "thdt_buy_amt": wire.amount(ledger.bought[KRW]),
        "nxdy_auto_rdpt_amt": "0",
        "bfdy_sll_amt": "0",
        "thdt_sll_amt": wire.amount(ledger.sold[KRW]),
        "d2_auto_rdpt_amt": "0",
        "bfdy_tlex_amt": "0",
        "thdt_tlex_amt": "0",
        "tot_loan_amt": "0",
        "scts_evlu_amt": wire.amount(value),
        "tot_evlu_amt": wire.amount(total),
        "nass_amt": wire.amount(total),
        "fncg_gld_auto_rdpt_yn": "",
        "pchs_amt_smtl_amt": wire.amount(cost),
        "evlu_amt_smtl_amt": wire.amount(value),
        "evlu_pfls_smtl_amt": wire.amount(value - cost),
        "tot_stln_slng_chgs": "0",
        "bfdy_tot_asst_evlu_amt": wire.amount(yesterday),
        "asst_icdc_amt": wire.amount(total - yesterday),
        "asst_icdc_erng_rt": wire.rate(total - yesterday, yesterday, 8),
    }


def psbl_order(req: Request) -> Reply:
    req.check_account()
    code, price, ord_dvsn = req.need("PDNO", "ORD_UNPR", "ORD_DVSN")
    req.need("CMA_EVLU_AMT_ICLD_YN", "OVRS_ICLD_YN")
    with req.sim.market.lock:
        power = req.ledger.buying_power(KRW)
        unit = parse_price(price)
        if code:
            sym = domestic_symbol(req, code)
            if ord_dvsn == "01" or unit <= 0:
                unit = sym.upper
        qty = int(power // unit) if unit > 0 else 0
        output = {
            "ord_psbl_cash": wire.amount(power),
            "ord_psbl_sbst": "0",
            "ruse_psbl_amt": "0",
            "fund_rpch_chgs": "0",
            "psbl_qty_calc_unpr": wire.amount(unit),
            "nrcvb_buy_amt": wire.amount(qty * unit),
            "nrcvb_buy_qty": str(qty),
            "max_buy_amt": wire.amount(qty * unit),
            "max_buy_qty": str(qty),
            "cma_evlu_amt": "0",
            "ovrs_re_use_amt_wcrc": "0",
            "ord_psbl_frcr_amt_wcrc": "0",
        }
    return req.ok_inquiry(output=output), ""
