"""Overseas (US) stock: quotes, orders and the account (§4.3).

Quotes name the exchange by its quote code (EXCD: NAS, NYS, AMS), orders and the account by
the order code (OVRS_EXCG_CD: NASD, NYSE, AMEX).
"""

from __future__ import annotations

from decimal import Decimal

from .. import wire
from ..clock import KST, us_local
from ..market import Holding, Order, Rejected, Symbol
from ..symbols import KRW, ORDER_EXCHANGE_TO_EXCD, US_PRODUCT_TYPES, USD, USD_KRW, fundamentals
from ..wire import OrderKind, Side
from .tr import (
    KIND_NAMES,
    PAGE_SIZES,
    Reply,
    Request,
    fill_state_matches,
    ok_quote,
    order_kind,
    paginate,
    parse_price,
    parse_qty,
    period_bars,
)

MARKET_NAMES = {"NAS": "나스닥", "NYS": "뉴욕", "AMS": "아멕스"}


def us_symbol(req: Request, excd: str, ticker: str) -> Symbol:
    sym = req.sim.market.symbols.get(ticker.upper())
    if sym is None or sym.domestic or sym.market != excd:
        raise Rejected("symbol")
    return sym


def _order_symbol(req: Request, exchange: str, ticker: str) -> Symbol:
    excd = ORDER_EXCHANGE_TO_EXCD.get(exchange)
    if excd is None:
        raise Rejected("symbol")
    return us_symbol(req, excd, ticker)


def us_price(req: Request) -> Reply:
    _, excd, symb = req.need("AUTH", "EXCD", "SYMB")
    with req.sim.market.lock:
        sym = us_symbol(req, excd, symb)
        output = {
            "rsym": f"D{sym.market}{sym.code}",
            "zdiv": "4",
            "base": wire.fixed(sym.base, 4),
            "pvol": str(sym.prev_volume),
            "last": wire.fixed(sym.price, 4),
            "sign": sym.sign,
            "diff": wire.fixed(abs(sym.change), 4),
            "rate": wire.fixed(sym.change_rate, 2),
            "tvol": str(sym.volume),
            "tamt": wire.fixed(sym.value, 4),
            "ordy": "매수가능",
        }
    return ok_quote(output=output), ""


def us_dailyprice(req: Request) -> Reply:
    _, excd, symb, gubn, bymd, _ = req.need("AUTH", "EXCD", "SYMB", "GUBN", "BYMD", "MODP")
    period = {"0": "D", "1": "W", "2": "M"}.get(gubn)
    if period is None:
        raise Rejected("value")
    with req.sim.market.lock:
        sym = us_symbol(req, excd, symb)
        rows = []
        for bar in period_bars(req.sim, sym, period):
            day = wire.yyyymmdd(bar.date)
            if bymd and day > bymd:
                continue
            rows.append(
                {
                    "xymd": day,
                    "clos": wire.fixed(bar.close, 4),
                    "sign": wire.sign(bar.change),
                    "diff": wire.fixed(abs(bar.change), 4),
                    "rate": wire.rate(bar.change, bar.prev_close),
                    "open": wire.fixed(bar.open, 4),
                    "high": wire.fixed(bar.high, 4),
                    "low": wire.fixed(bar.low, 4),
                    "tvol": str(bar.volume),
                    "tamt": wire.fixed(bar.value, 0),
                    "pbid": wire.fixed(bar.close, 4),
                    "vbid": "0",
                    "pask": wire.fixed(bar.close, 4),
                    "vask": "0",
                }
            )
            if len(rows) == 100:
                break
        output1 = {"rsym": f"D{sym.market}{sym.code}", "zdiv": "4", "nrec": str(len(rows))}
    return ok_quote(output1=output1, output2=rows), ""


def us_order(req: Request) -> Reply:
    req.check_account()
    exchange, ticker, qty, price, ord_dvsn = req.need(
        "OVRS_EXCG_CD", "PDNO", "ORD_QTY", "OVRS_ORD_UNPR", "ORD_DVSN"
    )
    req.need("ORD_SVR_DVSN_CD")
    sym = _order_symbol(req, exchange, ticker)
    quantity, unit_price = parse_qty(qty), parse_price(price)
    side = Side(req.arg)
    req.sim.stats.count_order(req.ledger.account.appkey)
    order = req.sim.market.submit_order(req.ledger, sym.code, side, ord_dvsn, quantity, unit_price)
    return req.order_output(order, "buy" if side is Side.BUY else "sell"), ""


def us_rvsecncl(req: Request) -> Reply:
    req.check_account()
    exchange, ticker, orgn, kind_code, qty, price = req.need(
        "OVRS_EXCG_CD", "PDNO", "ORGN_ODNO", "RVSE_CNCL_DVSN_CD", "ORD_QTY", "OVRS_ORD_UNPR"
    )
    kind = order_kind(kind_code)
    _order_symbol(req, exchange, ticker)
    quantity, unit_price = parse_qty(qty or "0"), parse_price(price)
    req.sim.stats.count_order(req.ledger.account.appkey)
    row = req.sim.market.revise_or_cancel(
        req.ledger, orgn, kind, "00", quantity, unit_price, quantity == 0
    )
    return req.order_output(row, "revise" if kind is OrderKind.REVISE else "cancel"), ""


def us_balance(req: Request) -> Reply:
    req.check_account()
    exchange, _currency = req.need("OVRS_EXCG_CD", "TR_CRCY_CD")
    ledger = req.ledger
    with req.sim.market.lock:
        positions = [
            h
            for h in ledger.positions(USD)
            if exchange in ("", "NASD", "NAS") or h.symbol.order_exchange == exchange
        ]
        page, ctx, tr_cont = paginate(
            req,
            positions,
            lambda h: h.symbol.code,
            PAGE_SIZES["overseas"][req.env],
            200,
            ledger.account.account_no,
        )
        output1 = []
        for h in page:
            sym = h.symbol
            cost, value = h.avg * h.qty, sym.price * h.qty
            output1.append(
                {
                    "cano": ledger.account.cano,
                    "acnt_prdt_cd": ledger.account.acnt_prdt_cd,
                    "prdt_type_cd": "512" if sym.market == "NAS" else "513",
                    "ovrs_pdno": sym.code,
                    "ovrs_item_name": sym.name,
                    "frcr_evlu_pfls_amt": wire.fixed(value - cost, 5),
                    "evlu_pfls_rt": wire.rate(value - cost, cost),
                    "pchs_avg_pric": wire.fixed(h.avg, 4),
                    "ovrs_cblc_qty": str(h.qty),
                    "ord_psbl_qty": str(ledger.sellable(sym.code)),
                    "frcr_pchs_amt1": wire.fixed(cost, 5),
                    "ovrs_stck_evlu_amt": wire.fixed(value, 5),
                    "now_pric2": wire.fixed(sym.price, 6),
                    "tr_crcy_cd": USD,
                    "ovrs_excg_cd": sym.order_exchange,
                    "loan_type_cd": "10",
                    "loan_dt": "",
                    "expd_dt": "",
                }
            )
        cost_all = sum((h.avg * h.qty for h in positions), Decimal(0))
        value_all = sum((h.symbol.price * h.qty for h in positions), Decimal(0))
        realized = ledger.realized[USD]
        output2 = {
            "frcr_pchs_amt1": wire.fixed(cost_all, 5),
            "ovrs_rlzt_pfls_amt": wire.fixed(realized, 5),
            "ovrs_tot_pfls": wire.fixed(realized + value_all - cost_all, 5),
            "rlzt_erng_rt": wire.rate(realized, ledger.bought[USD] or Decimal(0), 8),
            "tot_evlu_pfls_amt": wire.fixed(value_all - cost_all, 8),
            "tot_pftrt": wire.rate(value_all - cost_all, cost_all, 8),
            "frcr_buy_amt_smtl1": wire.fixed(ledger.bought[USD], 6),
            "ovrs_rlzt_pfls_amt2": wire.fixed(realized, 5),
            "frcr_buy_amt_smtl2": wire.fixed(ledger.bought[USD], 6),
        }
    return req.ok_inquiry(**ctx, output1=output1, output2=output2), tr_cont


def _order_rows(orders: list[Order]) -> list[dict[str, str]]:
    """`ord_dt` is the exchange's local date, `dmst_ord_dt` the Korean one (§4.3)."""
    return [
        {
            "ord_dt": wire.yyyymmdd(us_local(o.time)),
            "ord_gno_brno": o.orgno,
            "odno": o.odno,
            "orgn_odno": o.orgn_odno,
            "pdno": o.symbol.code,
            "prdt_name": o.symbol.name,
            "sll_buy_dvsn_cd": o.side,
            "sll_buy_dvsn_cd_name": "매수" if o.side is Side.BUY else "매도",
            "rvse_cncl_dvsn_cd": o.kind,
            "rvse_cncl_dvsn": o.kind,
            "rvse_cncl_dvsn_name": KIND_NAMES[o.kind],
            "rjct_rson": "",
            "rjct_rson_name": "",
            "ord_tmd": wire.hhmmss(o.time),
            "tr_mket_name": MARKET_NAMES[o.symbol.market],
            "tr_crcy_cd": USD,
            "natn_cd": "840",
            "tr_natn": "840",
            "tr_natn_name": "미국",
            "ft_ord_qty": str(o.qty),
            "ft_ccld_qty": str(o.filled),
            "nccs_qty": str(max(o.remaining, 0)),
            "ft_ord_unpr3": wire.fixed(o.price, 8),
            "ft_ccld_unpr3": wire.fixed(o.avg_price, 8),
            "ft_ccld_amt3": wire.fixed(o.filled_amount, 5),
            "ovrs_excg_cd": o.symbol.order_exchange,
            "prcs_stat_name": "완료" if not o.is_open else "접수",
            "loan_type_cd": "10",
            "loan_dt": "",
            "usa_amk_exts_rqst_yn": "N",
            "dmst_ord_dt": wire.yyyymmdd(o.time.astimezone(KST)),
            "thco_ord_tmd": wire.hhmmss(o.time),
            "mdia_dvsn_name": "OpenAPI",
            "splt_buy_attr_name": "",
        }
        for o in orders
    ]


def _order_page(req: Request, orders: list[Order]) -> Reply:
    """One page of US order rows with the FK200/NK200 cursor (§3.4, §4.3)."""
    page, ctx, tr_cont = paginate(
        req,
        orders,
        lambda o: o.odno,
        PAGE_SIZES["overseas"][req.env],
        200,
        req.ledger.account.account_no,
    )
    return req.ok_inquiry(**ctx, output=_order_rows(page)), tr_cont


def us_ccnl(req: Request) -> Reply:
    req.check_account()
    code, start, end, side, ccld, exchange, sort = req.need(
        "PDNO",
        "ORD_STRT_DT",
        "ORD_END_DT",
        "SLL_BUY_DVSN",
        "CCLD_NCCS_DVSN",
        "OVRS_EXCG_CD",
        "SORT_SQN",
    )
    today = wire.yyyymmdd(us_local(req.sim.clock.now()))  # ORD_STRT_DT/END_DT: local dates
    with req.sim.market.lock:
        rows = [
            o
            for o in req.ledger.orders.values()
            if not o.symbol.domestic
            and (start or today) <= wire.yyyymmdd(us_local(o.time)) <= (end or today)
            and code in ("", "%", o.symbol.code)
            and exchange in ("", "%", o.symbol.order_exchange)
            and side in ("", "00", o.side)
            and fill_state_matches(ccld, o)
        ]
        if sort != "AS":
            rows.reverse()
        return _order_page(req, rows)


def us_nccs(req: Request) -> Reply:
    req.check_account()
    exchange, sort = req.need("OVRS_EXCG_CD", "SORT_SQN")
    with req.sim.market.lock:
        rows = [
            o
            for o in req.sim.market.open_orders(req.ledger)
            if not o.symbol.domestic and exchange in ("NASD", o.symbol.order_exchange)
        ]
        if sort != "DS":
            rows.reverse()
        return _order_page(req, rows)


def us_psamount(req: Request) -> Reply:
    req.check_account()
    exchange, price, ticker = req.need("OVRS_EXCG_CD", "OVRS_ORD_UNPR", "ITEM_CD")
    with req.sim.market.lock:
        sym = _order_symbol(req, exchange, ticker)
        unit = parse_price(price)
        if unit <= 0:
            unit = sym.price
        power = req.ledger.buying_power(USD)
        qty = int(power // unit)
        output = {
            "tr_crcy_cd": USD,
            "ord_psbl_frcr_amt": wire.fixed(power, 2),
            "sll_ruse_psbl_amt": "0.00",
            "ovrs_ord_psbl_amt": wire.fixed(power, 2),
            "max_ord_psbl_qty": str(qty),
            "echm_af_ord_psbl_amt": "0.00",
            "echm_af_ord_psbl_qty": "0",
            "ord_psbl_qty": str(qty),
            "exrt": wire.fixed(USD_KRW, 8),
            "frcr_ord_psbl_amt1": wire.fixed(power, 2),
            "ovrs_max_ord_psbl_qty": str(qty),
        }
    return req.ok_inquiry(output=output), ""


def us_price_detail(req: Request) -> Reply:
    """HHDFS76200200: the price with the day's range, 52-week range, ratios and KRW values."""
    _, excd, symb = req.need("AUTH", "EXCD", "SYMB")
    with req.sim.market.lock:
        sym = us_symbol(req, excd, symb)
        facts = fundamentals(sym.code)
        history = req.sim.market.history(sym)
        year = history[-250:]
        high = max(year, key=lambda b: b.high)
        low = min(year, key=lambda b: b.low)
        krw_now, krw_base = sym.price * USD_KRW, sym.base * USD_KRW
        output = {
            "rsym": f"D{sym.market}{sym.code}",
            "pvol": str(sym.prev_volume),
            "open": wire.fixed(sym.open, 4),
            "high": wire.fixed(sym.high, 4),
            "low": wire.fixed(sym.low, 4),
            "last": wire.fixed(sym.price, 4),
            "base": wire.fixed(sym.base, 4),
            "tomv": wire.fixed(sym.price * facts.listed_shares, 0),
            "pamt": wire.fixed(history[-1].value, 0),
            "uplp": wire.fixed(0, 4),  # US exchanges have no daily price limits
            "dnlp": wire.fixed(0, 4),
            "h52p": wire.fixed(high.high, 4),
            "h52d": wire.yyyymmdd(high.date),
            "l52p": wire.fixed(low.low, 4),
            "l52d": wire.yyyymmdd(low.date),
            "perx": str(facts.per),
            "pbrx": str(facts.pbr),
            "epsx": wire.fixed(sym.base / facts.per, 2),
            "bpsx": wire.fixed(sym.base / facts.pbr, 2),
            "shar": str(facts.listed_shares),
            "mcap": str(facts.capital_100m_krw),
            "curr": USD,
            "zdiv": "4",
            "vnit": "1",
            "t_xprc": wire.amount(krw_now),
            "t_xdif": wire.amount(abs(krw_now - krw_base)),
            "t_xrat": wire.fixed(sym.change_rate, 2),
            "p_xprc": wire.amount(krw_base),
            "p_xdif": "0",
            "p_xrat": "0.00",
            "t_rate": wire.fixed(USD_KRW, 4),
            "p_rate": wire.fixed(USD_KRW, 4),
            "t_xsgn": sym.sign,
            "p_xsng": wire.Sign.FLAT,
            "e_ordyn": "매매 가능",
            "e_hogau": wire.fixed(sym.tick(), 4),
            "e_icod": facts.sector,
            "e_parp": str(facts.face_value),
            "tvol": str(sym.volume),
            "tamt": wire.fixed(sym.value, 0),
            "etyp_nm": "",
        }
    return ok_quote(output=output), ""


US_MARKETS = {"01": "NASD", "02": "NYSE", "05": "AMEX"}  # TR_MKET_CD under NATN_CD 840


def us_present_balance(req: Request) -> Reply:
    """CTRP6504R: holdings on the execution basis, the USD deposit, and totals in KRW.

    Only US listings exist, so a country other than all (000) or the US (840) has nothing.
    Holding and deposit rows are in USD; output3 totals are in KRW at `USD_KRW`.
    """
    req.check_account()
    _, country, market, _ = req.need("WCRC_FRCR_DVSN_CD", "NATN_CD", "TR_MKET_CD", "INQR_DVSN_CD")
    ledger = req.ledger
    with req.sim.market.lock:
        if country in ("000", "840"):
            positions = [
                h
                for h in ledger.positions(USD)
                if market == "00" or US_MARKETS.get(market) == h.symbol.order_exchange
            ]
        else:
            positions = []
        output1 = [_present_row(req, h) for h in positions]
        cost = sum((h.avg * h.qty for h in positions), Decimal(0))
        value = sum((h.symbol.price * h.qty for h in positions), Decimal(0))
        cash, power = ledger.cash[USD], ledger.buying_power(USD)
        output2 = [
            {
                "crcy_cd": USD,
                "frcr_buy_amt_smtl": wire.fixed(ledger.bought[USD], 2),
                "frcr_sll_amt_smtl": wire.fixed(ledger.sold[USD], 2),
                "frcr_dncl_amt_2": wire.fixed(cash, 2),
                "frst_bltn_exrt": wire.fixed(USD_KRW, 4),
                "frcr_buy_mgn_amt": wire.fixed(cash - power, 2),
                "frcr_etc_mgna": "0.00",
                "frcr_drwg_psbl_amt_1": wire.fixed(power, 2),
                "frcr_evlu_amt2": wire.amount(power * USD_KRW),
                "acpl_cstd_crcy_yn": "Y",
                "nxdy_frcr_drwg_psbl_amt": wire.fixed(power, 2),
            }
        ]
        deposit = ledger.cash[KRW] + cash * USD_KRW
        output3 = {
            "pchs_amt_smtl": wire.amount(cost * USD_KRW),
            "evlu_amt_smtl": wire.amount(value * USD_KRW),
            "evlu_pfls_amt_smtl": wire.amount((value - cost) * USD_KRW),
            "dncl_amt": wire.amount(ledger.cash[KRW]),
            "cma_evlu_amt": "0",
            "tot_dncl_amt": wire.amount(deposit),
            "etc_mgna": "0",
            "wdrw_psbl_tot_amt": wire.amount(ledger.cash[KRW] + power * USD_KRW),
            "frcr_evlu_tota": wire.amount(value * USD_KRW),
            "evlu_erng_rt1": wire.rate(value - cost, cost, 8),
            "pchs_amt_smtl_amt": wire.amount(cost * USD_KRW),
            "evlu_amt_smtl_amt": wire.amount(value * USD_KRW),
            "tot_evlu_pfls_amt": wire.amount((value - cost) * USD_KRW),
            "tot_asst_amt": wire.amount(deposit + value * USD_KRW),
            "buy_mgn_amt": wire.amount((cash - power) * USD_KRW),
            "mgna_tota": wire.amount((cash - power) * USD_KRW),
            "frcr_use_psbl_amt": wire.fixed(power, 2),
            "ustl_sll_amt_smtl": "0",
            "ustl_buy_amt_smtl": "0",
            "tot_frcr_cblc_smtl": wire.fixed(cash, 2),
            "tot_loan_amt": "0",
        }
    return req.ok_inquiry(output1=output1, output2=output2, output3=output3), ""


def _present_row(req: Request, h: Holding) -> dict[str, str]:
    sym, ledger = h.symbol, req.ledger
    cost, value = h.avg * h.qty, sym.price * h.qty
    today = req.sim.market.session_date(sym)
    bought = sold = Decimal(0)
    for order in ledger.orders.values():
        if order.symbol is not sym:
            continue
        amount = sum(
            (f.qty * f.price for f in order.fills if us_local(f.time).date() == today),
            Decimal(0),
        )
        if order.side is Side.BUY:
            bought += amount
        else:
            sold += amount
    return {
        "prdt_name": sym.name,
        "cblc_qty13": str(h.qty),
        "thdt_buy_ccld_qty1": str(h.buy_qty_today),
        "thdt_sll_ccld_qty1": str(h.sell_qty_today),
        "ccld_qty_smtl1": str(h.qty),
        "ord_psbl_qty1": str(ledger.sellable(sym.code)),
        "frcr_pchs_amt": wire.fixed(cost, 6),
        "frcr_evlu_amt2": wire.fixed(value, 6),
        "evlu_pfls_amt2": wire.fixed(value - cost, 6),
        "evlu_pfls_rt1": wire.rate(value - cost, cost, 10),
        "pdno": sym.code,
        "bass_exrt": wire.fixed(USD_KRW, 8),
        "buy_crcy_cd": USD,
        "ovrs_now_pric1": wire.fixed(sym.price, 8),
        "avg_unpr3": wire.fixed(h.avg, 8),
        "tr_mket_name": MARKET_NAMES[sym.market],
        "natn_kor_name": "미국",
        "pchs_rmnd_wcrc_amt": wire.amount(cost * USD_KRW),
        "thdt_buy_ccld_frcr_amt": wire.fixed(bought, 6),
        "thdt_sll_ccld_frcr_amt": wire.fixed(sold, 6),
        "unit_amt": "1",
        "std_pdno": "",
        "prdt_type_cd": US_PRODUCT_TYPES[sym.market],
        "loan_rmnd": "0",
        "loan_dt": "",
        "loan_expd_dt": "",
        "ovrs_excg_cd": sym.order_exchange,
        "item_lnkg_excg_cd": sym.market,
    }


def us_asking_price(req: Request) -> Reply:
    """HHDFS76200100: ten levels each side. python-kis sends no `AUTH`, so it is optional."""
    excd, symb = req.need("EXCD", "SYMB")
    with req.sim.market.lock:
        sym = us_symbol(req, excd, symb)
        local = us_local(req.sim.clock.now())
        summary = {
            "rsym": f"D{sym.market}{sym.code}",
            "zdiv": "4",
            "curr": USD,
            "base": wire.fixed(sym.base, 4),
            "open": wire.fixed(sym.open, 4),
            "high": wire.fixed(sym.high, 4),
            "low": wire.fixed(sym.low, 4),
            "last": wire.fixed(sym.price, 4),
            "dymd": wire.yyyymmdd(local),
            "dhms": wire.hhmmss(local),
            "bvol": str(sum(level.qty for level in sym.bids)),
            "avol": str(sum(level.qty for level in sym.asks)),
            "bdvl": "0",
            "advl": "0",
            "code": sym.code,
            "ropen": wire.rate(sym.open - sym.base, sym.base),
            "rhigh": wire.rate(sym.high - sym.base, sym.base),
            "rlow": wire.rate(sym.low - sym.base, sym.base),
            "rclose": wire.rate(sym.price - sym.base, sym.base),
        }
        levels: dict[str, str] = {}
        for i in range(10):
            bid = sym.bids[i] if i < len(sym.bids) else None
            ask = sym.asks[i] if i < len(sym.asks) else None
            levels[f"pbid{i + 1}"] = wire.fixed(bid.price, 4) if bid else wire.fixed(0, 4)
            levels[f"pask{i + 1}"] = wire.fixed(ask.price, 4) if ask else wire.fixed(0, 4)
            levels[f"vbid{i + 1}"] = str(bid.qty) if bid else "0"
            levels[f"vask{i + 1}"] = str(ask.qty) if ask else "0"
            levels[f"dbid{i + 1}"] = "0"
            levels[f"dask{i + 1}"] = "0"
        auction = dict.fromkeys(("vstm", "vetm", "csbp", "cshi", "cslo", "iep", "iev"), "")
    return ok_quote(output1=summary, output2=levels, output3=auction), ""
