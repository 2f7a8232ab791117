"""Generated hostile answers from the KIS REST host: truncated JSON, extra fields, wrong
types, non-finite numbers, EUC-KR/CP949 and invalid UTF-8 bytes, HTML error pages, empty
bodies, wrong content types and encodings, missing ``rt_cd``/``msg_cd``, a 200 with an
error ``rt_cd``, 5xx with and without a verdict, junk ``tr_cont`` headers. Each is served
by a real HTTP server on loopback (``hostile_upstream``); whatever it says, the client
returns a typed result or raises its own ``KisError``, never anything else — and an order
whose answer cannot be read is ``OutcomeUnknown``, never a clean refusal.

``KISWEB_HOSTILE_EXAMPLES`` sets how many answers per endpoint (``make soak``: thousands).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kisweb.kis import (
    Balance,
    Environment,
    Executions,
    InProcessRateLimiter,
    KisClient,
    KisCredentials,
    KisError,
    MalformedAnswer,
    MemoryTokenStore,
    OrderAck,
    OutcomeUnknown,
    Quote,
    RateLimits,
    Token,
    TokenExpired,
)
from kisweb.kis.transport import MAX_ANSWER_BYTES
from tests.figures import record

from .hostile_upstream import Canned, HostileUpstream

EXAMPLES = int(os.environ.get("KISWEB_HOSTILE_EXAMPLES", "60"))
HOSTILE = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

CREDS = KisCredentials(
    app_key="PSHOSTILEAPPKEY0001",
    app_secret="hostile-secret-never-shown",
    account_no="50000001",
    product_code="01",
    hts_id="demo",
    env=Environment.PAPER,
)
OK = {"rt_cd": "0", "msg_cd": "MCA00000", "msg1": "정상처리 되었습니다."}
TOKEN = {
    "access_token": "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzUxMiJ9.hostile.signature",
    "access_token_token_expired": "2026-12-03 15:00:00",
    "token_type": "Bearer",
    "expires_in": 86400,
}
APPROVAL = {"approval_key": "0a1b2c3d-hostile-approval-key"}
QUOTE = {
    **OK,
    "output": {
        "stck_prpr": "71500", "prdy_vrss": "-500", "prdy_ctrt": "-0.69", "stck_oprc": "71000",
        "stck_hgpr": "72000", "stck_lwpr": "70900", "stck_sdpr": "72000", "stck_mxpr": "93600",
        "stck_llam": "50400", "aspr_unit": "100", "acml_vol": "1234567",
        "acml_tr_pbmn": "88000000000", "rprs_mrkt_kor_name": "KOSPI200", "temp_stop_yn": "N",
    },
}  # fmt: skip
BALANCE = {
    **OK,
    "ctx_area_fk100": "50000001^01^",
    "ctx_area_nk100": "",
    "output1": [
        {
            "pdno": "005930", "prdt_name": "삼성전자", "hldg_qty": "10", "ord_psbl_qty": "10",
            "pchs_avg_pric": "70000.0000", "pchs_amt": "700000", "prpr": "71500",
            "evlu_amt": "715000", "evlu_pfls_amt": "15000", "evlu_pfls_rt": "2.14",
        }
    ],
    "output2": [
        {
            "dnca_tot_amt": "9300000", "prvs_rcdl_excc_amt": "9300000",
            "scts_evlu_amt": "715000", "tot_evlu_amt": "10015000", "nass_amt": "10015000",
            "pchs_amt_smtl_amt": "700000", "evlu_pfls_smtl_amt": "15000",
        }
    ],
}  # fmt: skip
EXECUTIONS = {
    **OK,
    "ctx_area_fk100": "50000001^01^20261202^",
    "ctx_area_nk100": "",
    "output1": [
        {
            "ord_dt": "20261202", "odno": "0000012345", "ord_gno_brno": "00950",
            "orgn_odno": "", "pdno": "005930", "prdt_name": "삼성전자",
            "sll_buy_dvsn_cd": "02", "ord_dvsn_cd": "00", "ord_qty": "10", "ord_unpr": "71500",
            "tot_ccld_qty": "10", "avg_prvs": "71500", "tot_ccld_amt": "715000",
            "rmn_qty": "0", "rjct_qty": "0", "cncl_yn": "N", "ord_tmd": "093017",
            "excg_id_dvsn_Cd": "KRX",
        }
    ],
    "output2": {
        "tot_ord_qty": "10", "tot_ccld_qty": "10", "tot_ccld_amt": "715000",
        "prsm_tlex_smtl": "107",
    },
}  # fmt: skip
ORDER = {
    "rt_cd": "0",
    "msg_cd": "APBK0013",
    "msg1": "주문 전송 완료 되었습니다.",
    "output": {"KRX_FWDG_ORD_ORGNO": "00950", "ODNO": "0000012345", "ORD_TMD": "093017"},
}

# -- what a broken or hostile upstream can send -----------------------------------------------

NASTY_TEXTS = ["", " ", "NaN", "nan", "Infinity", "-inf", "sNaN", "1e999999999", "1E-999999999",
               "9" * 60, "\x00", "0x10", "１２３", "1,000", " 71500 ", "71500.5", "-0", "가나다",
               "<script>", "\ud7a3", "0000012345\n", "٣"]  # fmt: skip
SCALAR_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(),  # NaN and ±Infinity go out as the literals Python's json reads
    st.text(max_size=12),
    st.sampled_from(NASTY_TEXTS),
)
JUNK = st.one_of(
    SCALAR_JUNK,
    st.lists(SCALAR_JUNK, max_size=3),
    st.dictionaries(st.text(max_size=4), SCALAR_JUNK, max_size=3),
)
MSG_CODES = ["", "MCA00000", "APBK0013", "APBK0919", "EGW00201", "EGW00123", "EGW00121",
             "EGW00103", "EGW00133", "EGW00002", "EGW00301", "SYDB0050", " "]  # fmt: skip
CODES = {
    "rt_cd": st.sampled_from(["0", "1", "", 0, 1, None, "2", " 0", "00"]),
    "msg_cd": st.sampled_from(MSG_CODES),
}


def mutated(value: Any, key: str = "") -> st.SearchStrategy[Any]:
    """``value`` as KIS sent it, or with fields dropped, added, or of the wrong type."""
    if isinstance(value, dict):
        fields = {name: mutated(item, name) for name, item in value.items()}
        changed = st.builds(
            lambda kept, extra: {**extra, **kept},
            st.fixed_dictionaries({}, optional=fields),
            st.dictionaries(st.text(max_size=8), JUNK, max_size=2),
        )
        return st.one_of(st.just(value), changed, changed, JUNK)
    if isinstance(value, list):
        return st.one_of(st.just(value), st.lists(mutated(value[0]), max_size=3), JUNK)
    if key in CODES:
        return st.one_of(st.just(value), CODES[key], JUNK)
    return st.one_of(st.just(value), st.just(value), JUNK)


def as_json(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


FIXED_BODIES = [
    b"",
    b"<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1></body></html>",
    b"<!DOCTYPE html><html><body>\xbf\xc0\xb7\xf9</body></html>",  # EUC-KR 오류
    b"[]",
    b"null",
    b'"rt_cd"',
    b"0",
    b"NaN",
    b'{"rt_cd":"0","msg1":"\xff\xfe\xfd"}',  # not UTF-8
    b'{"rt_cd": "0", "output": {"stck_prpr": 1e400}}',
    b'{"rt_cd": "0", "output": {"stck_prpr": ' + b"1" * 5000 + b"}}",
    b"[" * 100_000,  # deeper than any parser's recursion
    b'{"a":' * 50_000,
    b"\xef\xbb\xbf" + as_json(OK),  # a byte order mark before the JSON
    b'{"rt_cd":"0"}{"rt_cd":"1"}',
]
STATUSES = st.sampled_from([200, 200, 200, 201, 302, 400, 401, 403, 404, 429, 500, 502, 503, 504])
CONTENT_TYPES = [
    "application/json; charset=utf-8",
    "application/json; charset=euc-kr",
    "text/html",
    "text/plain; charset=cp949",
    "application/octet-stream",
    "",
]
TR_CONTS = ["", "F", "M", "D", "E", "N", " M ", "m", "FM", "\t", "\xff", "M\x00", "M" * 300]
ENCODINGS = ["", "", "", "gzip", "deflate", "br", "identity", "x-unknown"]


def answers(base: Any) -> st.SearchStrategy[Canned]:
    bodies = st.one_of(
        mutated(base).map(as_json),
        mutated(base).map(as_json),
        st.tuples(mutated(base).map(as_json), st.integers(0, 300)).map(lambda t: t[0][: t[1]]),
        mutated(base).map(
            lambda body: json.dumps(body, ensure_ascii=False).encode("cp949", "replace")
        ),
        st.binary(max_size=64),
        st.sampled_from(FIXED_BODIES),
    )
    headers = st.builds(
        lambda content_type, tr_cont, encoding: tuple(
            (name, value)
            for name, value in (
                ("content-type", content_type),
                ("tr_cont", tr_cont),
                ("content-encoding", encoding),
            )
            if value
        ),
        st.sampled_from(CONTENT_TYPES),
        st.sampled_from(TR_CONTS),
        st.sampled_from(ENCODINGS),
    )
    return st.builds(Canned, status=STATUSES, headers=headers, body=bodies)


# -- one exchange with the hostile upstream --------------------------------------------------

GOOD = {
    "/oauth2/tokenP": Canned.of(TOKEN),
    "/oauth2/Approval": Canned.of(APPROVAL),
    "/inquire-price": Canned.of(QUOTE),
}


def serving(hostile_path: str, canned: Canned) -> Callable[[str], Canned]:
    def answer(path: str) -> Canned:
        if path.endswith(hostile_path):
            return canned
        return next((good for end, good in GOOD.items() if path.endswith(end)), Canned(404))

    return answer


def exchange(
    hostile_path: str, canned: Canned, call: Callable[[KisClient], Awaitable[Any]]
) -> tuple[Any, HostileUpstream]:
    """Run ``call`` against an upstream answering ``canned`` on ``hostile_path``; the result
    or the ``KisError`` raised. Anything else raised fails the test."""

    async def run() -> tuple[Any, HostileUpstream]:
        async with HostileUpstream(serving(hostile_path, canned)) as upstream:
            kis = KisClient(
                CREDS,
                upstream.url,
                "ws://127.0.0.1:9",
                token_store=MemoryTokenStore(),
                limiter=InProcessRateLimiter(RateLimits(real_per_s=10**4, paper_per_s=10**4)),
                timeout_s=5,
                read_attempts=2,
                backoff_base_s=0.001,
                backoff_max_s=0.002,
                max_pages=3,
            )
            async with kis:
                try:
                    return await call(kis), upstream
                except KisError as error:
                    return error, upstream

    return asyncio.run(run())


def finite(*numbers: Decimal) -> bool:
    return all(isinstance(n, Decimal) and n.is_finite() for n in numbers)


def tally(outcomes: Counter[str], result: Any) -> None:
    outcomes[type(result).__name__] += 1


def report(what: str, outcomes: Counter[str], typed: tuple[type, ...]) -> None:
    parsed = sum(n for name, n in outcomes.items() if name in {t.__name__ for t in typed})
    total = sum(outcomes.values())
    record(
        "hostile input",
        f"generated {what} answers: typed result / KIS error",
        f"{parsed} / {total - parsed}",
        note=", ".join(f"{name} {n}" for name, n in outcomes.most_common()),
    )


# -- properties ------------------------------------------------------------------------------


def test_any_token_answer_is_a_usable_token_or_a_kis_error():
    """A token the client accepts must also work as the next call's header: a value httpx
    cannot put in a header would surface as an unrelated error on every later call."""
    outcomes: Counter[str] = Counter()

    @HOSTILE
    @given(answers(TOKEN))
    def check(canned: Canned) -> None:
        async def call(kis: KisClient) -> Any:
            token = await kis.ensure_token()
            assert isinstance(token, Token) and token.value
            assert token.expires_at > token.issued_at
            return await kis.quote("005930")

        result, _ = exchange("/oauth2/tokenP", canned, call)
        assert isinstance(result, Quote | KisError), result
        tally(outcomes, result)

    check()
    report("token", outcomes, (Quote,))


def test_any_approval_key_answer_is_a_key_or_a_kis_error():
    outcomes: Counter[str] = Counter()

    @HOSTILE
    @given(answers(APPROVAL))
    def check(canned: Canned) -> None:
        result, _ = exchange("/oauth2/Approval", canned, lambda kis: kis.ensure_approval_key())
        assert isinstance(result, Token | KisError), result
        if isinstance(result, Token):
            assert isinstance(result.value, str) and result.value.isprintable()
        tally(outcomes, result)

    check()
    report("approval key", outcomes, (Token,))


def test_any_quote_answer_is_a_quote_of_finite_numbers_or_a_kis_error():
    outcomes: Counter[str] = Counter()

    @HOSTILE
    @given(answers(QUOTE))
    def check(canned: Canned) -> None:
        result, _ = exchange("/inquire-price", canned, lambda kis: kis.quote("005930"))
        assert isinstance(result, Quote | KisError), result
        if isinstance(result, Quote):
            assert finite(result.price, result.change, result.open, result.trade_value)
            assert isinstance(result.volume, int) and abs(result.volume) < 10**20
        tally(outcomes, result)

    check()
    report("quote", outcomes, (Quote,))


def test_any_balance_answer_is_a_balance_of_finite_numbers_or_a_kis_error():
    outcomes: Counter[str] = Counter()

    @HOSTILE
    @given(answers(BALANCE))
    def check(canned: Canned) -> None:
        result, _ = exchange("/inquire-balance", canned, lambda kis: kis.balance())
        assert isinstance(result, Balance | KisError), result
        if isinstance(result, Balance):
            assert finite(result.cash, result.total_value, result.profit_total)
            for holding in result.holdings:
                assert finite(holding.price, holding.average_price, holding.value)
                assert 0 < holding.quantity < 10**20
        tally(outcomes, result)

    check()
    report("balance", outcomes, (Balance,))


def test_any_daily_executions_answer_and_paging_header_is_a_list_or_a_kis_error():
    """Every page answers the same way, so a ``tr_cont`` of M pages on to ``max_pages``
    (then ``complete`` is false); junk ``tr_cont`` ends the list."""
    outcomes: Counter[str] = Counter()

    @HOSTILE
    @given(answers(EXECUTIONS))
    def check(canned: Canned) -> None:
        day = date(2026, 12, 2)
        result, upstream = exchange(
            "/inquire-daily-ccld", canned, lambda kis: kis.daily_executions(day, day)
        )
        assert isinstance(result, Executions | KisError), result
        if isinstance(result, Executions):
            continues = dict(canned.headers).get("tr_cont", "").strip() in ("F", "M")
            assert result.complete is not continues
            assert upstream.sent("/inquire-daily-ccld") == (3 if continues else 1)
            for row in result.rows:
                assert row.order_no and finite(row.price, row.average_price)
        tally(outcomes, result)

    check()
    report("daily executions", outcomes, (Executions,))


def readable_verdict(canned: Canned) -> bool:
    """The answer is KIS's envelope naming a code (``rt_cd`` with a ``msg_cd``, or the
    ``/oauth2`` shape's ``error_code``): the only kind that can say "not taken"."""
    if dict(canned.headers).get("content-encoding", "") in ("gzip", "deflate"):
        return False  # httpx cannot decode these plain bytes (it passes unknown ones on)
    try:
        body = json.loads(canned.body)
    except (ValueError, RecursionError):
        return False
    if not isinstance(body, dict):
        return False
    if "error_code" in body:
        code = body["error_code"]
    elif str(body.get("rt_cd", "")).strip() not in ("None", "", "0"):
        code = body.get("msg_cd")
    else:
        return False
    return isinstance(code, str) and bool(code.strip())


def test_an_order_answer_that_cannot_be_read_is_unknown_never_a_refusal():
    """KIS may hold the order whenever its answer is garbled: trading journals anything but
    ``OutcomeUnknown`` (and an ack) as not sent (trading/actions.py ``_send``). So a refusal
    needs a readable verdict, an ``rt_cd`` "0" on a 200 is never one, and the order goes out
    once (twice only after a token refusal, which KIS's gateway answers before running it)."""
    outcomes: Counter[str] = Counter()

    @HOSTILE
    @given(answers(ORDER))
    def check(canned: Canned) -> None:
        result, upstream = exchange(
            "/order-cash", canned, lambda kis: kis.buy("005930", 1, Decimal(71500))
        )
        assert isinstance(result, OrderAck | KisError), result
        sends = upstream.sent("/order-cash")
        assert sends == 1 or (sends == 2 and isinstance(result, KisError | OrderAck))
        if isinstance(result, OrderAck):
            # KIS's order numbers are digits (10, zero-padded; old paper ones shorter), and
            # the journal keeps them in 16 characters, the branch in 8.
            assert result.order_no.isascii() and result.order_no.isdigit()
            assert len(result.order_no) <= 16 and len(result.branch_no) <= 8
        elif not isinstance(result, OutcomeUnknown | TokenExpired):
            assert readable_verdict(canned), (type(result).__name__, canned)
        tally(outcomes, result)

    check()
    report("order", outcomes, (OrderAck,))


HUGE = 4 * 2**20


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (as_json({**QUOTE, "padding": "가" * (HUGE // 3)}), Quote),
        (as_json({**QUOTE, "output": {**QUOTE["output"], "stck_prpr": "7" * HUGE}}), KisError),
        (b"{" + b" " * HUGE, KisError),
        (b"[" * HUGE, KisError),
        (bytes(range(256)) * (HUGE // 256), KisError),
    ],
    ids=["padded", "huge-number", "unterminated", "deep", "binary"],
)
def test_a_body_of_several_megabytes_is_read_or_refused_in_its_own_terms(body, expected):
    result, _ = exchange("/inquire-price", Canned(200, body=body), lambda kis: kis.quote("005930"))
    assert isinstance(result, expected), result


TOO_BIG = MAX_ANSWER_BYTES + 1


@pytest.mark.parametrize(
    ("path", "canned", "call", "expected"),
    [
        # past the cap a read is refused in its own terms, and an order's fate is unknown
        ("/inquire-price", Canned(200, body=as_json({**QUOTE, "padding": "x" * TOO_BIG})),
         lambda kis: kis.quote("005930"), MalformedAnswer),
        ("/inquire-price", Canned(200, (("content-encoding", "gzip"),),
                                  gzip.compress(as_json(QUOTE) + b" " * TOO_BIG)),
         lambda kis: kis.quote("005930"), MalformedAnswer),
        ("/order-cash", Canned(200, body=as_json({**ORDER, "padding": "x" * TOO_BIG})),
         lambda kis: kis.buy("005930", 1, Decimal(71500)), OutcomeUnknown),
    ],
    ids=["quote", "gzip-bomb", "order"],
)  # fmt: skip
def test_an_answer_past_the_size_cap_is_not_read_whole(path, canned, call, expected):
    result, upstream = exchange(path, canned, call)
    assert type(result) is expected, result
    if path == "/order-cash":
        assert upstream.sent(path) == 1  # never resent: it may have run


def buy(kis: KisClient) -> Awaitable[OrderAck]:
    return kis.buy("005930", 1, Decimal(71500))


def quote(kis: KisClient) -> Awaitable[Quote]:
    return kis.quote("005930")


def with_output(base: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {**base, "output": {**base["output"], **fields}}


@pytest.mark.parametrize(
    ("path", "canned", "call", "expected"),
    [
        # each of these once escaped as another exception, or was a clean refusal
        ("/order-cash", Canned(200, (("content-encoding", "gzip"),), as_json(ORDER)), buy,
         OutcomeUnknown),
        ("/order-cash", Canned.of({"msg_cd": " "}), buy, OutcomeUnknown),
        ("/order-cash", Canned.of({"msg_cd": "APBK0919", "msg1": "no rt_cd"}), buy,
         OutcomeUnknown),
        ("/order-cash", Canned.of({"rt_cd": "1", "msg_cd": None}), buy, OutcomeUnknown),
        ("/order-cash", Canned.of(ORDER, status=400), buy, OutcomeUnknown),
        ("/order-cash", Canned.of(with_output(ORDER, ODNO="")), buy, OutcomeUnknown),
        ("/order-cash", Canned.of(with_output(ORDER, ODNO="1" * 17)), buy, OutcomeUnknown),
        ("/order-cash", Canned.of(with_output(ORDER, ODNO={"no": 1})), buy, OutcomeUnknown),
        ("/order-cash", Canned(200, body=b"[" * 100_000), buy, OutcomeUnknown),
        ("/inquire-price", Canned.of(with_output(QUOTE, stck_prpr="NaN")), quote,
         MalformedAnswer),
        ("/inquire-price", Canned.of(with_output(QUOTE, acml_vol="Infinity")), quote,
         MalformedAnswer),
        ("/inquire-price", Canned.of(with_output(QUOTE, acml_vol="1e999999999")), quote,
         MalformedAnswer),
        ("/inquire-price", Canned.of(with_output(QUOTE, stck_prpr=float("inf"))), quote,
         MalformedAnswer),
        ("/oauth2/tokenP", Canned.of({**TOKEN, "expires_in": float("inf")}),
         lambda kis: kis.ensure_token(), MalformedAnswer),
        ("/oauth2/tokenP", Canned.of({**TOKEN, "expires_in": 10**30}),
         lambda kis: kis.ensure_token(), MalformedAnswer),
        ("/oauth2/tokenP", Canned.of({**TOKEN, "access_token": "토큰"}),
         lambda kis: kis.ensure_token(), MalformedAnswer),
        ("/oauth2/Approval", Canned.of({"approval_key": "\f"}),
         lambda kis: kis.ensure_approval_key(), MalformedAnswer),
    ],
)  # fmt: skip
def test_answers_that_once_broke_the_client(path, canned, call, expected):
    result, upstream = exchange(path, canned, call)
    assert type(result) is expected, result
    assert upstream.sent(path) <= 2
