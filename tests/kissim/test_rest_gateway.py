"""Header validation, the envelope, response headers, TR routing (docs/kis-protocol.md §3, §5)."""

from __future__ import annotations

import httpx
import pytest

from .conftest import DQ, DT, all_strings, connect

PRICE = f"{DQ}/inquire-price"
PRICE_PARAMS = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}


@pytest.mark.parametrize(
    ("drop", "replace", "msg_cd"),
    [
        ("appkey", None, "EGW00102"),
        (None, {"appkey": "PS" + "x" * 34}, "EGW00103"),
        ("appsecret", None, "EGW00104"),
        (None, {"appsecret": "y" * 180}, "EGW00105"),
        ("authorization", None, "EGW00205"),
        (None, {"authorization": "Token abc"}, "EGW00205"),
        (None, {"authorization": "Bearer not-a-token"}, "EGW00121"),
        ("tr_id", None, "OPSQ0002"),
        (None, {"tr_id": "FHKST99999999"}, "OPSQ0002"),
        (None, {"custtype": "X"}, "EGW00208"),
    ],
)
async def test_header_errors_answer_like_kis(paper, drop, replace, msg_cd):
    headers = paper.headers("FHKST01010100")
    if drop:
        del headers[drop]
    headers.update(replace or {})
    response = await paper.http.get(PRICE, params=PRICE_PARAMS, headers=headers)
    assert response.status_code == 500
    body = response.json()
    assert body["rt_cd"] == "1"
    assert body["msg_cd"] == msg_cd
    assert body["msg1"]


async def test_header_names_are_case_insensitive(paper):
    headers = {
        "appKey": paper.account.appkey,
        "appSecret": paper.account.appsecret,
        "Authorization": f"Bearer {paper.token}",
        "TR_ID": "FHKST01010100",
    }
    response = await paper.http.get(PRICE, params=PRICE_PARAMS, headers=headers)
    assert response.status_code == 200


async def test_envelope_headers_and_string_numbers(paper):
    response = await paper.price("005930")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["tr_id"] == "FHKST01010100"
    assert response.headers["tr_cont"] == ""
    assert len(response.headers["gt_uid"]) == 32
    body = response.json()
    assert (body["rt_cd"], body["msg_cd"]) == ("0", "MCA00000")
    assert all_strings(body)


async def test_query_keys_are_case_insensitive(paper):
    lower = {"fid_cond_mrkt_div_code": "J", "fid_input_iscd": "000660"}
    response = await paper.get(PRICE, "FHKST01010100", lower)
    assert response.json()["output"]["stck_shrn_iscd"] == "000660"


async def test_missing_parameter_names_the_field(paper):
    response = await paper.get(PRICE, "FHKST01010100", {"FID_COND_MRKT_DIV_CODE": "J"})
    assert response.status_code == 200
    assert response.json()["rt_cd"] != "0"
    assert response.json()["msg1"] == "INPUT_FIELD_NAME FID_INPUT_ISCD"


async def test_unknown_path_is_a_routing_error(paper):
    response = await paper.get("/uapi/domestic-stock/v1/quotations/nope", "FHKST01010100", {})
    assert response.status_code == 404
    assert response.json()["msg_cd"] == "EGW00202"


async def test_wrong_method_is_a_routing_error(paper):
    response = await paper.post(PRICE, "FHKST01010100", PRICE_PARAMS)
    assert response.status_code == 404


async def test_real_tr_on_paper_host_is_egw00213(paper):
    response = await paper.balance()
    assert response.status_code == 200
    params = {**paper.acct(), "AFHR_FLPR_YN": "N", "INQR_DVSN": "02", "UNPR_DVSN": "01"}
    response = await paper.get(f"{DT}/inquire-balance", "TTTC8434R", params)
    assert response.status_code == 500
    assert response.json()["msg_cd"] == "EGW00213"


async def test_paper_tr_on_real_host_is_no_service(real):
    response = await real.get(f"{DT}/inquire-balance", "VTTC8434R", real.acct())
    assert response.status_code == 500
    assert response.json()["msg_cd"] == "OPSQ0002"


async def test_revisable_orders_tr_is_not_offered_on_paper(paper):
    params = {**paper.acct(), "INQR_DVSN_1": "0", "INQR_DVSN_2": "0"}
    response = await paper.get(f"{DT}/inquire-psbl-rvsecncl", "VTTC0084R", params)
    assert response.status_code == 500
    assert response.json() == {
        "rt_cd": "1",
        "msg_cd": "OPSQ0002",
        "msg1": "없는 서비스 코드 입니다",
    }


async def test_wrong_account_is_refused(paper):
    params = {"CANO": "99999999", "ACNT_PRDT_CD": "01", "AFHR_FLPR_YN": "N"}
    params |= {"INQR_DVSN": "02", "UNPR_DVSN": "01", "FUND_STTL_ICLD_YN": "N", "PRCS_DVSN": "00"}
    response = await paper.get(f"{DT}/inquire-balance", "VTTC8434R", params)
    assert response.json()["rt_cd"] == "1"
    assert response.json()["msg1"] == "모의투자 계좌번호 입력 오류입니다"


async def test_malformed_order_body_never_crashes(paper):
    headers = paper.headers("VTTC0012U")
    # A body that is no JSON object is the gateway's EGW00101 (500); a JSON object missing a
    # field is the service's OPSQ2002 (200).
    for raw, status, msg_cd in (
        (b"{oops", 500, "EGW00101"),
        (b"[]", 500, "EGW00101"),
        (b"\xff\xfe", 500, "EGW00101"),
        (b'{"CANO": {"x": 1}}', 200, "OPSQ2002"),
    ):
        response = await paper.http.post(f"{DT}/order-cash", content=raw, headers=headers)
        assert (response.status_code, response.json()["msg_cd"]) == (status, msg_cd), raw
        assert response.json()["rt_cd"] != "0"
    assert (await paper.price("005930")).status_code == 200


def _namedtuple_unsafe(names: list[str]) -> list[str]:
    """The official client makes a namedtuple field of every all-lower-case response header
    name, so such a name must be an identifier (`content-type` breaks it; `tr_id` is fine)."""
    return [n for n in names if n.islower() and not n.isidentifier()]


async def test_every_answer_keeps_lower_case_header_names_identifiers(sim, paper):
    """Success and failure alike: OAuth, approval, hashkey, API, gateway errors, 404, the
    rate limiter, and the WebSocket handshake (raw names as they travel)."""
    creds = {"appkey": paper.account.appkey, "appsecret": paper.account.appsecret}
    raw: list[httpx.Response] = [
        await paper.http.post("/oauth2/tokenP", json={"grant_type": "client_credentials", **creds}),
        await paper.http.post("/oauth2/tokenP", json={"grant_type": "client_credentials"}),
        await paper.http.post(
            "/oauth2/Approval",
            json={
                "grant_type": "client_credentials",
                "appkey": creds["appkey"],
                "secretkey": creds["appsecret"],
            },
        ),
        await paper.http.post("/oauth2/Approval", json={}),
        await paper.http.post("/oauth2/revokeP", json={"token": "x", **creds}),
        await paper.http.post("/uapi/hashkey", json={"CANO": "1"}, headers=creds),
        await paper.http.post("/uapi/hashkey", json={"CANO": "1"}),
        await paper.price("005930"),
        await paper.price("999999"),
        await paper.http.get(PRICE, params=PRICE_PARAMS),
        await paper.get("/uapi/nowhere", "FHKST01010100", {}),
        await paper.http.delete(PRICE),
        await paper.http.get("/"),
    ]
    sim.faults.rate_limit_all = True
    raw.append(await paper.price("005930"))
    sim.faults.rate_limit_all = False
    sim.faults.http_500 = True
    raw.append(await paper.price("005930"))
    sim.faults.http_500 = False
    statuses = {r.status_code for r in raw}
    assert {200, 403, 404, 500} <= statuses
    for response in raw:
        names = [name.decode() for name, _ in response.headers.raw]
        assert not _namedtuple_unsafe(names), (response.request.url, names)
    ws = await connect(paper)
    try:
        names = [name for name, _ in ws.response.headers.raw_items()]
    finally:
        await ws.close()
    assert names and not _namedtuple_unsafe(names), names
