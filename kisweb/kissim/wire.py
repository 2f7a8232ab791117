"""KIS's REST envelope and its answers, shared by the OAuth and API handlers (§3.3, §5).

HTTP statuses: gateway-level failures (credentials, token, rate limit, unknown service) are
answered 500 with the envelope, as python-kis observed for EGW00123/EGW00201; business
rejections are 200 with `rt_cd` "1" (§5). OAuth endpoints use `error_code`/`error_description`
with 403 (§2.1).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from aiohttp import web

JSON_UTF8 = "application/json; charset=UTF-8"


@dataclass(frozen=True)
class Answer:
    """A KIS failure: the envelope fields plus the HTTP status it travels with."""

    msg_cd: str
    msg1: str
    status: int = 200
    rt_cd: str = "1"


class ApiError(Exception):
    def __init__(self, answer: Answer):
        super().__init__(answer.msg_cd)
        self.answer = answer


# Gateway answers (EGW table, §5; texts as captured, HTTP 500 per §5).
APPKEY_REQUIRED = Answer("EGW00102", "AppKey는 필수입니다.", 500)
APPKEY_INVALID = Answer("EGW00103", "유효하지 않은 AppKey입니다.", 500)
APPSECRET_REQUIRED = Answer("EGW00104", "AppSecret은 필수입니다.", 500)
APPSECRET_INVALID = Answer("EGW00105", "유효하지 않은 AppSecret입니다.", 500)
TOKEN_INVALID = Answer("EGW00121", "유효하지 않은 token 입니다.", 500)
TOKEN_EXPIRED = Answer("EGW00123", "기간이 만료된 token 입니다.", 500)
NOT_BEARER = Answer("EGW00205", "credentials_type이 유효하지 않습니다.(Bearer)", 500)
BAD_CUSTTYPE = Answer("EGW00208", "고객유형(custtype)이 유효하지 않습니다.", 500)
RATE_LIMITED = Answer("EGW00201", "초당 거래건수를 초과하였습니다.", 500)
SERVER_ERROR = Answer("EGW00002", "서버 에러가 발생했습니다.", 500)
BAD_REQUEST = Answer("EGW00101", "유효하지 않은 요청입니다.", 500)
NO_ROUTE = Answer("EGW00202", "GW라우팅 중 오류가 발생했습니다.", 404)
NO_SERVICE = Answer("OPSQ0002", "없는 서비스 코드 입니다", 500)
NOT_PAPER_TR = Answer("EGW00213", "모의투자 TR 이 아닙니다.", 500)
# A continued inquiry whose data changed since its first page (the `data_changed` fault);
# KIS answers it as a business refusal, rt_cd "1" with HTTP 200.
DATA_CHANGED = Answer("SYDB0050", "조회이후에 자료가 변경되었습니다.(다시 조회하세요)")
REAL_DOMAIN_PAPER_KEY = Answer(
    "EGW02004", "실전투자 도메인은 모의투자 앱키로 호출하실 수 없습니다.", 500
)
PAPER_DOMAIN_REAL_KEY = Answer(
    "EGW02004", "모의투자 도메인은 실전투자 앱키로 호출하실 수 없습니다.", 500
)


def missing_field(name: str) -> Answer:
    # The captured text is "INPUT_FIELD_NAME PDNO"; the code and rt_cd are our choice.
    return Answer("OPSQ2002", f"INPUT_FIELD_NAME {name}", 200, "2")


def gt_uid() -> str:
    return secrets.token_hex(16)


def envelope_response(
    body: dict[str, Any], *, status: int = 200, tr_id: str = "", tr_cont: str = ""
) -> web.Response:
    """JSON body with KIS's response headers `tr_id`, `tr_cont`, `gt_uid` (§3.3)."""
    return web.Response(
        status=status,
        text=json.dumps(body, ensure_ascii=False),
        # Header names as KIS sends them: the official client turns every all-lower-case
        # header name into a namedtuple field, so a lower-case "content-type" breaks it.
        headers={
            "Content-Type": JSON_UTF8,
            "tr_id": tr_id,
            "tr_cont": tr_cont,
            "gt_uid": gt_uid(),
        },
    )


def error_response(answer: Answer, tr_id: str = "") -> web.Response:
    body = {"rt_cd": answer.rt_cd, "msg_cd": answer.msg_cd, "msg1": answer.msg1}
    return envelope_response(body, status=answer.status, tr_id=tr_id)


def oauth_error(code: str, description: str, status: int = 403) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps({"error_code": code, "error_description": description}, ensure_ascii=False),
        content_type="application/json",
    )


# -- numbers as strings (§3.3) -----------------------------------------------------------


def amount(value: Decimal | int) -> str:
    """A KRW figure: whole won."""
    return str(Decimal(value).quantize(Decimal(1), ROUND_HALF_UP))


def fixed(value: Decimal | int, places: int) -> str:
    return str(Decimal(value).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP))


def rate(part: Decimal, whole: Decimal, places: int = 2) -> str:
    """part/whole in percent; 0 when whole is 0."""
    if not whole:
        return fixed(0, places)
    return fixed(part * 100 / whole, places)


# -- codes and stamps shared by REST outputs and realtime frames (§4.6, §7.8) -------------


class Side(StrEnum):
    """SLL_BUY_DVSN_CD."""

    SELL = "01"
    BUY = "02"


class OrderKind(StrEnum):
    """RVSE_CNCL_DVSN_CD of an order row: the new order, a revision, a cancel."""

    NEW = "00"
    REVISE = "01"
    CANCEL = "02"


class Sign(StrEnum):
    """prdy_vrss_sign and the realtime sign fields."""

    UPPER_LIMIT = "1"
    UP = "2"
    FLAT = "3"
    LOWER_LIMIT = "4"
    DOWN = "5"


def sign(change: Decimal, *, upper_limit: bool = False, lower_limit: bool = False) -> Sign:
    """The sign of a change; the limit signs only where the caller says a limit is reached."""
    if upper_limit:
        return Sign.UPPER_LIMIT
    if lower_limit:
        return Sign.LOWER_LIMIT
    if change > 0:
        return Sign.UP
    if change < 0:
        return Sign.DOWN
    return Sign.FLAT


def hhmmss(moment: dt.datetime | None) -> str:
    """A time of day as KIS writes it, on the wall clock the moment carries; "" for none."""
    return moment.strftime("%H%M%S") if moment else ""


def yyyymmdd(moment: dt.datetime | dt.date) -> str:
    return moment.strftime("%Y%m%d")
