"""What every TR handler shares: its request, its answers, paging and input parsing (§3, §5).

A handler is a plain function from a `Request` to a `Reply`: the envelope body and the
`tr_cont` to send back. It raises `Rejected` for a business refusal (answered with the KIS
text for its reason) or `ApiError` for any other KIS answer.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypeVar

from .. import wire
from ..market import Ledger, Order, Rejected, Symbol
from ..wire import Answer, ApiError

if TYPE_CHECKING:
    from ..server import Simulator

Body = dict[str, Any]
Reply = tuple[Body, str]  # (envelope body, tr_cont)
Row = TypeVar("Row")

PAGE_SIZES = {  # §3.4; the overseas sizes are unconfirmed, chosen small enough to page
    "balance": {"real": 50, "paper": 20},
    "daily_ccld": {"real": 100, "paper": 15},
    "psbl_rvsecncl": {"real": 50, "paper": 50},
    "overseas": {"real": 20, "paper": 10},
}

OK_INQUIRY = {
    "real": ("MCA00000", "정상처리 되었습니다."),
    "paper": ("20310000", "모의투자 조회가 완료되었습니다."),
}
OK_QUOTE = ("MCA00000", "정상처리 되었습니다.")
OK_ORDER_REAL = ("APBK0013", "주문 전송 완료 되었습니다.")
OK_ORDER_PAPER = {
    "buy": ("40600000", "모의투자 매수주문이 완료 되었습니다."),
    "sell": ("40600000", "모의투자 매도주문이 완료 되었습니다."),
    "revise": ("40600000", "모의투자 정정주문이 완료 되었습니다."),
    "cancel": ("40600000", "모의투자 취소주문이 완료 되었습니다."),
}
KIND_NAMES = {
    wire.OrderKind.NEW: "",
    wire.OrderKind.REVISE: "정정",
    wire.OrderKind.CANCEL: "취소",
}

# Business rejections (§5). Texts marked there as captured are used verbatim; the codes for
# the rest are our choice. Paper answers prefix "모의투자" as KIS's paper host does.
REJECTIONS: dict[str, tuple[str, str, str]] = {
    # reason: (real msg_cd, paper msg_cd, text)
    "cash": ("APBK0952", "40250000", "주문가능금액을 초과 했습니다"),
    "holdings": ("APBK0400", "40240000", "주문가능수량을 초과 했습니다"),
    "price_tick": ("APBK0506", "40070000", "주식주문호가단위 오류입니다."),
    "price_upper": ("APBK0512", "40080000", "주문단가가 상한가를 초과하였습니다."),
    "price_lower": ("APBK0513", "40090000", "주문단가가 하한가 미만입니다."),
    "qty": ("APBK0545", "40120000", "주문수량을 확인하십시오."),
    "symbol": ("APBK0656", "40050000", "해당종목정보가 없습니다."),
    "ord_dvsn": ("APBK1664", "40130000", "주문구분 입력오류입니다."),
    "nothing_left": ("APBK1359", "40330000", "정정/취소할 수량이 없습니다."),
    "no_order": ("APBK0915", "40340000", "원주문번호가 존재하지 않습니다."),
    "account": ("APAC0081", "40200000", "계좌번호 입력 오류입니다"),
    "value": ("APBK0547", "40140000", "주문단가를 확인하십시오."),
    # EXCG_ID_DVSN_CD: codes and texts are our choice (no capture); paper's host knows KRX only.
    "venue": ("APBK1681", "40150000", "거래소ID구분코드를 확인하십시오."),
    "venue_paper": ("APBK1681", "40160000", "거래소ID구분코드는 KRX만 가능합니다."),
}


def rejection(reason: str, env: str) -> Answer:
    real_cd, paper_cd, text = REJECTIONS[reason]
    if env == "paper":
        return Answer(paper_cd, f"모의투자 {text}")
    return Answer(real_cd, text)


@dataclass(frozen=True)
class Request:
    """What a TR handler needs: the simulator, the caller, its parameters, the continuation."""

    sim: Simulator
    env: str
    ledger: Ledger
    tr_id: str
    params: dict[str, Any]  # GET keys upper-cased (§3.2); POST body as sent
    tr_cont: str
    arg: str  # the route's per-TR argument, e.g. the order side

    def need(self, *names: str) -> list[str]:
        values = []
        for name in names:
            value = self.params.get(name)
            if value is None:
                raise ApiError(wire.missing_field(name))
            values.append(str(value).strip())
        return values

    def get(self, name: str, default: str = "") -> str:
        value = self.params.get(name)
        return default if value is None else str(value).strip()

    @property
    def continuing(self) -> bool:
        return self.tr_cont == "N"

    def check_account(self) -> None:
        cano, prdt = self.need("CANO", "ACNT_PRDT_CD")
        account = self.ledger.account
        if cano != account.cano or prdt != account.acnt_prdt_cd:
            raise Rejected("account")

    def ok_inquiry(self, **outputs: Any) -> Body:
        msg_cd, msg1 = OK_INQUIRY[self.env]
        return {"rt_cd": "0", "msg_cd": msg_cd, "msg1": msg1, **outputs}

    def order_output(self, order: Order, kind: str) -> Body:
        """The answer to an accepted order, revision or cancel (`kind` names which)."""
        if self.env == "paper":
            msg_cd, msg1 = OK_ORDER_PAPER[kind]
        else:
            msg_cd, msg1 = OK_ORDER_REAL
        return {
            "rt_cd": "0",
            "msg_cd": msg_cd,
            "msg1": msg1,
            "output": {
                "KRX_FWDG_ORD_ORGNO": order.orgno,
                "ODNO": order.odno,
                "ORD_TMD": wire.hhmmss(order.time),
            },
        }


Handler = Callable[[Request], Reply]


def ok_quote(**outputs: Any) -> Body:
    msg_cd, msg1 = OK_QUOTE
    return {"rt_cd": "0", "msg_cd": msg_cd, "msg1": msg1, **outputs}


def _pad(value: str, width: int) -> str:
    """Continuation cursors travel right-padded with spaces, as KIS sends them."""
    return value.ljust(width)


def paginate(
    req: Request,
    rows: Sequence[Row],
    key: Callable[[Row], str],
    size: int,
    width: int,
    fingerprint: str,
) -> tuple[list[Row], dict[str, str], str]:
    """One page after the cursor in CTX_AREA_NK<width>; returns (rows, ctx fields, tr_cont)."""
    cursor = req.get(f"CTX_AREA_NK{width}") if req.continuing else ""
    start = 0
    if cursor:
        keys = [key(r) for r in rows]
        start = keys.index(cursor) + 1 if cursor in keys else len(rows)
    page = list(rows[start : start + size])
    more = start + size < len(rows)
    last = key(page[-1]) if page else ""
    ctx = {
        f"ctx_area_fk{width}": _pad(fingerprint, width),
        f"ctx_area_nk{width}": _pad(last, width),
    }
    # F/D answer a first call, M/E a continuation; F/M mean more pages follow (§3.4).
    if req.continuing and cursor:
        return page, ctx, "M" if more else "E"
    return page, ctx, "F" if more else "D"


def parse_qty(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise Rejected("qty") from None


def parse_price(text: str, reason: str = "value") -> Decimal:
    try:
        value = Decimal(text or "0")
    except InvalidOperation:
        raise Rejected(reason) from None
    if not value.is_finite():
        raise Rejected(reason)
    return value


def order_kind(code: str) -> wire.OrderKind:
    """RVSE_CNCL_DVSN_CD of a revise/cancel request: 01 or 02."""
    if code not in (wire.OrderKind.REVISE, wire.OrderKind.CANCEL):
        raise Rejected("value")
    return wire.OrderKind(code)


def fill_state_matches(code: str, order: Order) -> bool:
    """CCLD_DVSN / CCLD_NCCS_DVSN: 00 (or empty) all, 01 filled, 02 not yet filled."""
    if code == "01":
        return order.filled > 0
    if code == "02":
        return order.remaining > 0
    return code in ("", "00")


def json_object(raw: bytes) -> Body:
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(wire.BAD_REQUEST) from None
    if not isinstance(body, dict):
        raise ApiError(wire.BAD_REQUEST)
    return body


def dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class Bar:
    """One daily, weekly, monthly or yearly row of a period quote."""

    date: dt.date
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    value: Decimal
    prev_close: Decimal
    prev_volume: int

    @property
    def change(self) -> Decimal:
        return self.close - self.prev_close


def period_bars(sim: Simulator, sym: Symbol, period: str) -> list[Bar]:
    """Daily bars (today included) grouped by D/W/M/Y; newest first."""
    today = sim.market.session_date(sym)
    days = sim.market.history(sym)
    Raw = tuple[dt.date, Decimal, Decimal, Decimal, Decimal, int, Decimal]
    rows: list[Raw] = [(b.date, b.open, b.high, b.low, b.close, b.volume, b.value) for b in days]
    rows.append((today, sym.open, sym.high, sym.low, sym.price, sym.volume, sym.value))
    if period in ("W", "M", "Y"):

        def bucket(day: dt.date) -> tuple[int, ...]:
            if period == "W":
                return tuple(day.isocalendar()[:2])
            if period == "M":
                return (day.year, day.month)
            return (day.year,)

        grouped: dict[tuple[int, ...], list[Raw]] = {}
        for row in rows:
            grouped.setdefault(bucket(row[0]), []).append(row)
        rows = [
            (
                g[-1][0],
                g[0][1],
                max(r[2] for r in g),
                min(r[3] for r in g),
                g[-1][4],
                sum(r[5] for r in g),
                sum((r[6] for r in g), Decimal(0)),
            )
            for g in grouped.values()
        ]
    out = []
    for i, (day, open_, high, low, close, volume, value) in enumerate(rows):
        out.append(
            Bar(
                day,
                open_,
                high,
                low,
                close,
                volume,
                value,
                prev_close=rows[i - 1][4] if i else close,
                prev_volume=rows[i - 1][5] if i else volume,
            )
        )
    out.reverse()
    return out
