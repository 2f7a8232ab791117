"""Error classification and the two retry policies on answers alone (no sockets): the
error bodies KIS documents (docs/kis-protocol.md §2.1, §5) map to the exceptions callers
rely on, and only the order policy turns an answer without a verdict into OutcomeUnknown."""

from __future__ import annotations

import pytest

from kisweb.kis import (
    InvalidCredential,
    MalformedAnswer,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    TokenExpired,
    TokenIssueTooSoon,
    UpstreamUnavailable,
)
from kisweb.kis.transport import ORDER, READ, Envelope, classify, without_body

# The token endpoint's error shape, as documented (docs/kis-protocol.md §2.1).
TOO_SOON = {
    "error_code": "EGW00133",
    "error_description": "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)",
}
BAD_APP_KEY = {"error_code": "EGW00103", "error_description": "유효하지 않은 AppKey입니다."}


def envelope(code: str, message: str, rt_cd: str = "1") -> dict[str, str]:
    return {"rt_cd": rt_cd, "msg_cd": code, "msg1": message}


def test_the_once_a_minute_refusal_says_when_to_retry():
    failure = classify(403, TOO_SOON, Envelope.OAUTH)
    assert isinstance(failure, TokenIssueTooSoon)
    assert (failure.code, failure.retry_after_s) == ("EGW00133", 60.0)
    assert failure.message == "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)"


def test_a_wrong_app_key_is_an_invalid_credential():
    assert isinstance(classify(403, BAD_APP_KEY, Envelope.OAUTH), InvalidCredential)
    paper_key_on_real = envelope(
        "EGW02004", "실전투자 도메인은 모의투자 앱키로 호출하실 수 없습니다."
    )
    assert isinstance(classify(500, paper_key_on_real), InvalidCredential)


def test_an_unknown_oauth_refusal_with_403_is_a_wrong_key_pair_but_not_on_the_api():
    unknown = {"error_code": "EGW00999", "error_description": "?"}
    assert type(classify(403, unknown, Envelope.OAUTH)) is InvalidCredential
    assert type(classify(403, unknown, Envelope.API)) is Rejected


def test_a_token_answer_needs_no_rt_cd_but_an_api_answer_without_one_is_no_verdict():
    token = {"access_token": "eyJ0", "token_type": "Bearer", "expires_in": 86400}
    assert classify(200, token, Envelope.OAUTH) is None
    assert type(classify(200, token, Envelope.API)) is UpstreamUnavailable


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (500, "EGW00201", RateLimited),  # commonly seen as 500 with the envelope (§5)
        (200, "EGW00201", RateLimited),  # and sometimes inside a 200
        (500, "EGW00215", RateLimited),
        (500, "EGW00123", TokenExpired),
        (500, "EGW00121", TokenExpired),
        (500, "EGW00002", UpstreamUnavailable),
        (500, "EGW00301", UpstreamUnavailable),
        (200, "40330000", Rejected),
    ],
)
def test_gateway_and_business_codes_map_whatever_the_status(status, code, kind):
    failure = classify(status, envelope(code, "메시지  "))
    assert type(failure) is kind
    assert (failure.code, failure.message) == (code, "메시지")


def test_success_needs_rt_cd_zero_below_400():
    assert classify(200, envelope("MCA00000", "정상처리 되었습니다.", rt_cd="0")) is None
    assert type(classify(500, envelope("", "", rt_cd="0"))) is UpstreamUnavailable


def test_an_answer_without_a_body_is_the_gateway_failing_only_for_a_5xx():
    assert type(without_body(502)) is UpstreamUnavailable
    assert type(without_body(200)) is MalformedAnswer


def test_reads_retry_transient_failures_only():
    assert READ.retries(RateLimited("EGW00201", ""))
    assert READ.retries(UpstreamUnavailable("HTTP502", ""))
    assert not READ.retries(Rejected("40330000", ""))
    assert not READ.retries(TokenIssueTooSoon("EGW00133", "", retry_after_s=60))
    assert not ORDER.retries(RateLimited("EGW00201", ""))


def test_an_order_without_a_verdict_is_outcome_unknown_unless_it_never_left():
    lost = UpstreamUnavailable("EGW00301", "연결시간 초과")
    judged = ORDER.judge(lost, maybe_sent=True)
    assert type(judged) is OutcomeUnknown and judged.code == "EGW00301"
    assert type(ORDER.judge(MalformedAnswer("HTTP200", ""), maybe_sent=True)) is OutcomeUnknown
    assert ORDER.judge(lost, maybe_sent=False) is lost  # a refused connection sent nothing
    refused = RateLimited("EGW00201", "초당 거래건수를 초과하였습니다.")
    assert ORDER.judge(refused, maybe_sent=True) is refused  # certain: KIS did not run it
    assert READ.judge(lost, maybe_sent=True) is lost
