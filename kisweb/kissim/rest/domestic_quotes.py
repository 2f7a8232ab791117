"""Domestic stock quotations: price, order book, daily and minute charts (§4.2)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from .. import wire
from ..clock import KST, market_day
from ..market import Rejected, Symbol
from ..symbols import KRX_PRODUCT_TYPE, US_PRODUCT_TYPES, fundamentals, krx_isin
from ..wire import Answer, ApiError
from .tr import Reply, Request, ok_quote, period_bars


def domestic_symbol(req: Request, code: str) -> Symbol:
    sym = req.sim.market.symbols.get(code)
    if sym is None or not sym.domestic:
        raise Rejected("symbol")
    return sym


# FID_COND_MRKT_DIV_CODE of a domestic stock quote (§4.2): J KRX, NX NXT, UN KRX+NXT combined.
# The combined quote is KRX's here (KRX carries most of the volume).
MARKET_DIV_VENUES = {"J": "KRX", "NX": "NXT", "UN": "KRX"}


def quote_venue(div_code: str) -> str:
    venue = MARKET_DIV_VENUES.get(div_code.upper())
    if venue is None:
        raise Rejected("value")
    return venue


def inquire_price(req: Request) -> Reply:
    div, code = req.need("FID_COND_MRKT_DIV_CODE", "FID_INPUT_ISCD")
    venue = quote_venue(div)
    with req.sim.market.lock:
        sym = domestic_symbol(req, code)
        last = sym.venue_price(venue)
        change = last - sym.base
        facts = fundamentals(sym.code)
        year = req.sim.market.history(sym)[-250:]
        w52_high = max(year, key=lambda b: b.high)
        w52_low = min(year, key=lambda b: b.low)
        high_rate = wire.rate(sym.price - w52_high.high, w52_high.high)
        low_rate = wire.rate(sym.price - w52_low.low, w52_low.low)
        high_date, low_date = wire.yyyymmdd(w52_high.date), wire.yyyymmdd(w52_low.date)
        output = {
            "iscd_stat_cls_code": "55",
            "marg_rate": "20.00",
            "rprs_mrkt_kor_name": sym.group,
            "bstp_kor_isnm": facts.sector,
            "temp_stop_yn": "N",
            "oprc_rang_cont_yn": "N",
            "clpr_rang_cont_yn": "N",
            "crdt_able_yn": "Y",
            "grmn_rate_cls_code": "40",
            "elw_pblc_yn": "N",
            "stck_prpr": wire.amount(last),
            "prdy_vrss": wire.amount(change),
            "prdy_vrss_sign": wire.sign(
                change, upper_limit=last >= sym.upper, lower_limit=last <= sym.lower
            ),
            "prdy_ctrt": str(sym.change_rate) if venue == "KRX" else wire.rate(change, sym.base),
            "acml_tr_pbmn": wire.amount(sym.value),
            "acml_vol": str(sym.volume),
            "prdy_vrss_vol_rate": wire.rate(Decimal(sym.volume), Decimal(sym.prev_volume)),
            "stck_oprc": wire.amount(sym.open),
            "stck_hgpr": wire.amount(sym.high),
            "stck_lwpr": wire.amount(sym.low),
            "stck_mxpr": wire.amount(sym.upper),
            "stck_llam": wire.amount(sym.lower),
            "stck_sdpr": wire.amount(sym.base),
            "wghn_avrg_stck_prc": wire.fixed(sym.vwap, 2),
            "hts_frgn_ehrt": str(facts.foreign_ratio),
            "frgn_ntby_qty": "0",
            "pgtr_ntby_qty": "0",
            "pvt_scnd_dmrs_prc": wire.amount(sym.high),
            "pvt_frst_dmrs_prc": wire.amount(sym.high),
            "pvt_pont_val": wire.amount(sym.base),
            "pvt_frst_dmsp_prc": wire.amount(sym.low),
            "pvt_scnd_dmsp_prc": wire.amount(sym.low),
            "dmrs_val": wire.amount(sym.high),
            "dmsp_val": wire.amount(sym.low),
            "cpfn": str(facts.capital_100m_krw),
            "rstc_wdth_prc": wire.amount(sym.upper - sym.base),
            "stck_fcam": str(facts.face_value),
            "stck_sspr": wire.amount(sym.lower),
            "aspr_unit": wire.amount(sym.tick(last)),
            "hts_deal_qty_unit_val": "1",
            "lstn_stcn": str(facts.listed_shares),
            "hts_avls": market_cap_100m(sym),
            "per": str(facts.per),
            "pbr": str(facts.pbr),
            "stac_month": "12",
            "vol_tnrt": "0.12",
            "eps": wire.amount(sym.base / facts.per),
            "bps": wire.amount(sym.base / facts.pbr),
            "d250_hgpr": wire.amount(w52_high.high),
            "d250_hgpr_date": high_date,
            "d250_hgpr_vrss_prpr_rate": high_rate,
            "d250_lwpr": wire.amount(w52_low.low),
            "d250_lwpr_date": low_date,
            "d250_lwpr_vrss_prpr_rate": low_rate,
            "stck_dryy_hgpr": wire.amount(w52_high.high),
            "dryy_hgpr_vrss_prpr_rate": high_rate,
            "dryy_hgpr_date": high_date,
            "stck_dryy_lwpr": wire.amount(w52_low.low),
            "dryy_lwpr_vrss_prpr_rate": low_rate,
            "dryy_lwpr_date": low_date,
            "w52_hgpr": wire.amount(w52_high.high),
            "w52_hgpr_vrss_prpr_ctrt": high_rate,
            "w52_hgpr_date": high_date,
            "w52_lwpr": wire.amount(w52_low.low),
            "w52_lwpr_vrss_prpr_ctrt": low_rate,
            "w52_lwpr_date": low_date,
            "whol_loan_rmnd_rate": "0.10",
            "ssts_yn": "Y",
            "stck_shrn_iscd": sym.code,
            "fcam_cnnm": str(facts.face_value),
            "cpfn_cnnm": f"{facts.capital_100m_krw:,} 억",
            "apprch_rate": "0.00",
            "frgn_hldn_qty": str(facts.foreign_shares),
            "vi_cls_code": "N",
            "ovtm_vi_cls_code": "N",
            "last_ssts_cntg_qty": "0",
            "invt_caful_yn": "N",
            "mrkt_warn_cls_code": "00",
            "short_over_yn": "N",
            "sltr_yn": "N",
            "mang_issu_cls_code": "N",
        }
    return ok_quote(output=output), ""


def market_cap_100m(sym: Symbol) -> str:
    """hts_avls: market capitalisation in 억 won at the last price."""
    return wire.amount(sym.price * fundamentals(sym.code).listed_shares / 100_000_000)


def asking_price(req: Request) -> Reply:
    div, code = req.need("FID_COND_MRKT_DIV_CODE", "FID_INPUT_ISCD")
    venue = quote_venue(div)
    with req.sim.market.lock:
        sym = domestic_symbol(req, code)
        asks, bids = sym.venue_book(venue)
        book: dict[str, str] = {"aspr_acpt_hour": wire.hhmmss(req.sim.clock.now())}
        for i in range(10):
            ask = asks[i] if i < len(asks) else None
            bid = bids[i] if i < len(bids) else None
            book[f"askp{i + 1}"] = wire.amount(ask.price) if ask else "0"
            book[f"bidp{i + 1}"] = wire.amount(bid.price) if bid else "0"
        for i in range(10):
            ask = asks[i] if i < len(asks) else None
            bid = bids[i] if i < len(bids) else None
            book[f"askp_rsqn{i + 1}"] = str(ask.qty) if ask else "0"
            book[f"bidp_rsqn{i + 1}"] = str(bid.qty) if bid else "0"
        for i in range(10):
            book[f"askp_rsqn_icdc{i + 1}"] = "0"
            book[f"bidp_rsqn_icdc{i + 1}"] = "0"
        total_ask = sum(level.qty for level in asks)
        total_bid = sum(level.qty for level in bids)
        book.update(
            total_askp_rsqn=str(total_ask),
            total_bidp_rsqn=str(total_bid),
            total_askp_rsqn_icdc="0",
            total_bidp_rsqn_icdc="0",
            ovtm_total_askp_icdc="0",
            ovtm_total_bidp_icdc="0",
            ovtm_total_askp_rsqn="0",
            ovtm_total_bidp_rsqn="0",
            ntby_aspr_rsqn=str(total_bid - total_ask),
            new_mkop_cls_code="20",
        )
        expected = {
            "antc_mkop_cls_code": "311",
            "stck_prpr": wire.amount(sym.venue_price(venue)),
            "stck_oprc": wire.amount(sym.open),
            "stck_hgpr": wire.amount(sym.high),
            "stck_lwpr": wire.amount(sym.low),
            "stck_sdpr": wire.amount(sym.base),
            "antc_cnpr": "0",
            "antc_cntg_vrss_sign": wire.Sign.FLAT,
            "antc_cntg_vrss": "0",
            "antc_cntg_prdy_ctrt": "0.00",
            "antc_vol": "0",
            "stck_shrn_iscd": sym.code,
            "vi_cls_code": "N",
        }
    return ok_quote(output1=book, output2=expected), ""


def daily_price(req: Request) -> Reply:
    _, code, period = req.need("FID_COND_MRKT_DIV_CODE", "FID_INPUT_ISCD", "FID_PERIOD_DIV_CODE")
    if period not in ("D", "W", "M"):
        raise Rejected("value")
    with req.sim.market.lock:
        sym = domestic_symbol(req, code)
        foreign_ratio = str(fundamentals(sym.code).foreign_ratio)
        rows = [
            {
                "stck_bsop_date": wire.yyyymmdd(bar.date),
                "stck_oprc": wire.amount(bar.open),
                "stck_hgpr": wire.amount(bar.high),
                "stck_lwpr": wire.amount(bar.low),
                "stck_clpr": wire.amount(bar.close),
                "acml_vol": str(bar.volume),
                "prdy_vrss_vol_rate": wire.rate(
                    Decimal(bar.volume - bar.prev_volume), Decimal(bar.prev_volume)
                ),
                "prdy_vrss": wire.amount(bar.change),
                "prdy_vrss_sign": wire.sign(bar.change),
                "prdy_ctrt": wire.rate(bar.change, bar.prev_close),
                "hts_frgn_ehrt": foreign_ratio,
                "frgn_ntby_qty": "0",
                "flng_cls_code": "00",
                "acml_prtt_rate": "0.00",
            }
            for bar in period_bars(req.sim, sym, period)[:30]
        ]
    return ok_quote(output=rows), ""


def _chart_summary(sym: Symbol) -> dict[str, str]:
    return {
        "prdy_vrss": wire.amount(sym.change),
        "prdy_vrss_sign": sym.sign,
        "prdy_ctrt": str(sym.change_rate),
        "stck_prdy_clpr": wire.amount(sym.base),
        "acml_vol": str(sym.volume),
        "acml_tr_pbmn": wire.amount(sym.value),
        "hts_kor_isnm": sym.name,
        "stck_prpr": wire.amount(sym.price),
    }


def period_chart(req: Request) -> Reply:
    _, code, start, end, period = req.need(
        "FID_COND_MRKT_DIV_CODE",
        "FID_INPUT_ISCD",
        "FID_INPUT_DATE_1",
        "FID_INPUT_DATE_2",
        "FID_PERIOD_DIV_CODE",
    )
    if period not in ("D", "W", "M", "Y"):
        raise Rejected("value")
    with req.sim.market.lock:
        sym = domestic_symbol(req, code)
        facts = fundamentals(sym.code)
        last = req.sim.market.history(sym)[-1]
        summary = _chart_summary(sym) | {
            "stck_shrn_iscd": sym.code,
            "prdy_vol": str(last.volume),
            "stck_mxpr": wire.amount(sym.upper),
            "stck_llam": wire.amount(sym.lower),
            "stck_oprc": wire.amount(sym.open),
            "stck_hgpr": wire.amount(sym.high),
            "stck_lwpr": wire.amount(sym.low),
            "stck_prdy_oprc": wire.amount(last.open),
            "stck_prdy_hgpr": wire.amount(last.high),
            "stck_prdy_lwpr": wire.amount(last.low),
            "askp": wire.amount(sym.asks[0].price) if sym.asks else "0",
            "bidp": wire.amount(sym.bids[0].price) if sym.bids else "0",
            "prdy_vrss_vol": str(sym.volume - last.volume),
            "vol_tnrt": "0.12",
            "stck_fcam": str(facts.face_value),
            "lstn_stcn": str(facts.listed_shares),
            "cpfn": str(facts.capital_100m_krw),
            "hts_avls": market_cap_100m(sym),
            "per": str(facts.per),
            "eps": wire.amount(sym.base / facts.per),
            "pbr": str(facts.pbr),
            "itewhol_loan_rmnd_ratem": "0.10",
        }
        rows = []
        for bar in period_bars(req.sim, sym, period):
            day = wire.yyyymmdd(bar.date)
            if not (start <= day <= end):
                continue
            rows.append(
                {
                    "stck_bsop_date": day,
                    "stck_clpr": wire.amount(bar.close),
                    "stck_oprc": wire.amount(bar.open),
                    "stck_hgpr": wire.amount(bar.high),
                    "stck_lwpr": wire.amount(bar.low),
                    "acml_vol": str(bar.volume),
                    "acml_tr_pbmn": wire.amount(bar.value),
                    "flng_cls_code": "00",
                    "prtt_rate": "0.00",
                    "mod_yn": "N",
                    "prdy_vrss_sign": wire.sign(bar.change),
                    "prdy_vrss": wire.amount(bar.change),
                    "revl_issu_reas": "",
                }
            )
            if len(rows) == 100:
                break
    return ok_quote(output1=summary, output2=rows), ""


def minute_chart(req: Request) -> Reply:
    _, _, code, hour = req.need(
        "FID_ETC_CLS_CODE", "FID_COND_MRKT_DIV_CODE", "FID_INPUT_ISCD", "FID_INPUT_HOUR_1"
    )
    with req.sim.market.lock:
        sym = domestic_symbol(req, code)
        # Today's bars only (§4.2); a time still to come is "now".
        today = req.sim.market.session_date(sym)
        todays = [b for b in sym.minutes if b.start.astimezone(KST).date() == today]
        bars = [b for b in todays if wire.hhmmss(b.start) <= hour] or todays or sym.minutes
        rows = [
            {
                "stck_bsop_date": wire.yyyymmdd(b.start),
                "stck_cntg_hour": wire.hhmmss(b.start),
                "stck_prpr": wire.amount(b.close),
                "stck_oprc": wire.amount(b.open),
                "stck_hgpr": wire.amount(b.high),
                "stck_lwpr": wire.amount(b.low),
                "cntg_vol": str(b.volume),
                "acml_tr_pbmn": wire.amount(b.value),
            }
            for b in reversed(bars[-30:])
        ]
        summary = _chart_summary(sym)
    return ok_quote(output1=summary, output2=rows), ""


NO_DATA = Answer("KIOK0560", "조회할 내용이 없습니다", 200, "7")
OK_FOUND = ("KIOK0530", "조회되었습니다")
# (class name, class code, wrap asset type, investment type, its name): the overseas row as
# KIS answers AAPL; the domestic row is our choice.
OVERSEAS_KIND = ("해외주식", "101210", "06", "1012", "해외주식")
DOMESTIC_KIND = ("주권", "101010", "01", "1010", "주식")


def search_info(req: Request) -> Reply:
    """CTPF1604R, product basic information: KRX and US listings by PRDT_TYPE_CD.

    A code listed under another product type is "no data" (rt_cd "7"), which python-kis
    relies on to try the next type.
    """
    code, product_type = req.need("PDNO", "PRDT_TYPE_CD")
    sym = req.sim.market.symbols.get(code.upper())
    if sym is None or product_type != _product_type(sym):
        raise ApiError(NO_DATA)
    kind = DOMESTIC_KIND if sym.domestic else OVERSEAS_KIND
    class_name, class_code, wrap_type, invest_type, invest_name = kind
    output = {
        "pdno": sym.code,
        "prdt_type_cd": product_type,
        "prdt_name": sym.name,
        "prdt_name120": sym.name,
        "prdt_abrv_name": sym.name,
        "prdt_eng_name": "",
        "prdt_eng_name120": "",
        "prdt_eng_abrv_name": "",
        "std_pdno": krx_isin(sym.code) if sym.domestic else "",
        "shtn_pdno": sym.code,
        "prdt_sale_stat_cd": "",
        "prdt_risk_grad_cd": "",
        "prdt_clsf_cd": class_code,
        "prdt_clsf_name": class_name,
        "sale_strt_dt": "",
        "sale_end_dt": "",
        "wrap_asst_type_cd": wrap_type,
        "ivst_prdt_type_cd": invest_type,
        "ivst_prdt_type_cd_name": invest_name,
        "frst_erlm_dt": "",
    }
    msg_cd, msg1 = OK_FOUND
    return {"rt_cd": "0", "msg_cd": msg_cd, "msg1": msg1, "output": output}, ""


def _product_type(sym: Symbol) -> str:
    return KRX_PRODUCT_TYPE if sym.domestic else US_PRODUCT_TYPES[sym.market]


HOLIDAY_DAYS = 30  # calendar days answered from BASS_DT; our choice (KIS sends a few weeks)
HOLIDAY_PAGE = 15  # rows per page; our choice, small enough that a caller must page


def chk_holiday(req: Request) -> Reply:
    """CTCA0903R, the KRX calendar from BASS_DT on (real host only, §4.2): one row per day
    from the simulator's holiday list, paged on CTX_AREA_NK = the last date sent."""
    (base,) = req.need("BASS_DT")
    try:
        start = dt.datetime.strptime(base, "%Y%m%d").date()
    except ValueError:
        raise Rejected("value") from None
    days = [start + dt.timedelta(days=i) for i in range(HOLIDAY_DAYS)]
    cursor = req.get("CTX_AREA_NK") if req.continuing else ""
    begin = 0
    if cursor:
        keys = [d.strftime("%Y%m%d") for d in days]
        begin = keys.index(cursor) + 1 if cursor in keys else len(days)
    page = days[begin : begin + HOLIDAY_PAGE]
    more = begin + HOLIDAY_PAGE < len(days)
    # F/D answer a first call, M/E a continuation (§3.4).
    tr_cont = ("M" if more else "E") if req.continuing and cursor else ("F" if more else "D")
    last = page[-1].strftime("%Y%m%d") if page else ""
    body = req.ok_inquiry(
        ctx_area_fk=base.ljust(20),
        ctx_area_nk=last.ljust(20),
        output=[market_day(day) for day in page],
    )
    return body, tr_cont
