"""OAuth token, revoke, approval key and hashkey (docs/kis-protocol.md §2)."""

from __future__ import annotations

import datetime as dt
import json

import httpx

from kisweb.kissim import Simulator, make_account

from .conftest import DQ


def token_body(account, **overrides):
    return {
        "grant_type": "client_credentials",
        "appkey": account.appkey,
        "appsecret": account.appsecret,
        **overrides,
    }


async def test_token_has_kis_shape(sim):
    account = sim.add_account(make_account("paper"))
    async with httpx.AsyncClient(base_url=sim.paper_url) as http:
        response = await http.post("/oauth2/tokenP", json=token_body(account))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "access_token",
        "access_token_token_expired",
        "token_type",
        "expires_in",
    }
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 86400
    assert 330 <= len(body["access_token"]) <= 370
    assert body["access_token"].count(".") == 2
    expires = dt.datetime.strptime(body["access_token_token_expired"], "%Y-%m-%d %H:%M:%S")
    assert expires > dt.datetime(2000, 1, 1)
    assert sim.stats.token_issues(account.appkey) == 1


async def test_re_request_within_reuse_window_returns_the_same_token(sim):
    account = sim.add_account(make_account("real"))
    async with httpx.AsyncClient(base_url=sim.real_url) as http:
        first = await http.post("/oauth2/tokenP", json=token_body(account))
        second = await http.post("/oauth2/tokenP", json=token_body(account))
    assert first.status_code == second.status_code == 200
    assert first.json()["access_token"] == second.json()["access_token"]
    assert sim.stats.token_issues(account.appkey) == 1
    assert sim.stats.token_requests(account.appkey) == 2  # each ask counts, minted or not


async def test_new_token_within_a_minute_is_egw00133(sim):
    account = sim.add_account(make_account("paper"))
    async with httpx.AsyncClient(base_url=sim.paper_url) as http:
        token = (await http.post("/oauth2/tokenP", json=token_body(account))).json()
        revoked = await http.post(
            "/oauth2/revokeP",
            json={
                "appkey": account.appkey,
                "appsecret": account.appsecret,
                "token": token["access_token"],
            },
        )
        again = await http.post("/oauth2/tokenP", json=token_body(account))
    assert revoked.status_code == 200
    assert revoked.json()["code"] == "200"
    assert again.status_code == 403
    assert again.json() == {
        "error_code": "EGW00133",
        "error_description": "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)",
    }
    assert sim.stats.token_issues(account.appkey) == 1


async def test_revoked_token_is_refused_on_api_calls(sim, paper):
    await paper.http.post(
        "/oauth2/revokeP",
        json={
            "appkey": paper.account.appkey,
            "appsecret": paper.account.appsecret,
            "token": paper.token,
        },
    )
    response = await paper.price("005930")
    assert response.status_code == 500
    assert response.json()["msg_cd"] == "EGW00121"


async def test_unknown_appkey_is_egw00103(sim):
    account = make_account("paper")  # never added to the simulator
    async with httpx.AsyncClient(base_url=sim.paper_url) as http:
        response = await http.post("/oauth2/tokenP", json=token_body(account))
    assert response.status_code == 403
    assert response.json() == {
        "error_code": "EGW00103",
        "error_description": "유효하지 않은 AppKey입니다.",
    }


async def test_bad_secret_is_egw00105(sim):
    account = sim.add_account(make_account("paper"))
    async with httpx.AsyncClient(base_url=sim.paper_url) as http:
        response = await http.post("/oauth2/tokenP", json=token_body(account, appsecret="x" * 180))
    assert response.status_code == 403
    assert response.json()["error_code"] == "EGW00105"
    assert sim.stats.token_issues(account.appkey) == 0


async def test_paper_key_on_real_port_is_refused(sim):
    account = sim.add_account(make_account("paper"))
    async with httpx.AsyncClient(base_url=sim.real_url) as http:
        response = await http.post("/oauth2/tokenP", json=token_body(account))
    assert response.status_code == 403
    assert response.json()["error_code"] == "EGW02004"
    assert "모의투자 앱키" in response.json()["error_description"]


async def test_approval_keys_cross_hosts_one_way_only(sim):
    """The paper host serves real app keys an approval key; the real host refuses paper keys,
    and tokens stay with their own host (docs/kis-protocol.md §2.3)."""
    real = sim.add_account(make_account("real"))
    paper = sim.add_account(make_account("paper"))

    def approval_body(account):
        return {
            "grant_type": "client_credentials",
            "appkey": account.appkey,
            "secretkey": account.appsecret,
        }

    async with httpx.AsyncClient(base_url=sim.paper_url) as http:
        lenient = await http.post("/oauth2/Approval", json=approval_body(real))
        token = await http.post("/oauth2/tokenP", json=token_body(real))
    async with httpx.AsyncClient(base_url=sim.real_url) as http:
        strict = await http.post("/oauth2/Approval", json=approval_body(paper))
    assert lenient.status_code == 200
    assert len(lenient.json()["approval_key"]) == 36
    assert (token.status_code, token.json()["error_code"]) == (403, "EGW02004")
    assert (strict.status_code, strict.json()["error_code"]) == (403, "EGW02004")
    assert sim.stats.approval_issues(real.appkey) == 1
    assert sim.stats.approval_issues(paper.appkey) == 0


async def test_real_key_on_paper_port_is_refused_for_api_calls(sim, real):
    headers = real.headers("FHKST01010100")
    async with httpx.AsyncClient(base_url=sim.paper_url) as http:
        response = await http.get(
            f"{DQ}/inquire-price",
            params={"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"},
            headers=headers,
        )
    assert response.status_code == 500
    assert response.json()["msg_cd"] == "EGW02004"


async def test_approval_key_uses_the_secretkey_field(sim):
    account = sim.add_account(make_account("paper"))
    async with httpx.AsyncClient(base_url=sim.paper_url) as http:
        good = await http.post(
            "/oauth2/Approval",
            json={
                "grant_type": "client_credentials",
                "appkey": account.appkey,
                "secretkey": account.appsecret,
            },
        )
        wrong_field = await http.post(
            "/oauth2/Approval",
            json={
                "grant_type": "client_credentials",
                "appkey": account.appkey,
                "appsecret": account.appsecret,
            },
        )
    assert good.status_code == 200
    assert len(good.json()["approval_key"]) == 36
    assert wrong_field.status_code == 403
    assert wrong_field.json()["error_code"] == "EGW00104"
    assert sim.stats.approval_issues(account.appkey) == 1


async def test_hashkey_echoes_the_body_and_hashes_it(sim, paper):
    body = {**paper.acct(), "PDNO": "005930", "ORD_DVSN": "00", "ORD_QTY": "1", "ORD_UNPR": "70000"}
    raw = json.dumps(body).encode()
    response = await paper.http.post(
        "/uapi/hashkey",
        content=raw,
        headers={
            "content-type": "application/json",
            "appkey": paper.account.appkey,
            "appsecret": paper.account.appsecret,
        },
    )
    assert response.status_code == 200
    assert response.json()["JsonBody"] == body
    assert len(response.json()["HASH"]) == 64


async def test_malformed_token_request_never_crashes(sim):
    async with httpx.AsyncClient(base_url=sim.paper_url) as http:
        garbage = await http.post("/oauth2/tokenP", content=b"{not json")
        listed = await http.post("/oauth2/tokenP", json=[1, 2])
    assert garbage.status_code == listed.status_code == 403
    assert garbage.json()["error_code"] == "EGW00101"


async def test_token_issue_interval_is_configurable():
    account = make_account("paper")
    sim = Simulator(accounts=[account], speed=0, token_issue_interval_s=0)
    await sim.start()
    try:
        async with httpx.AsyncClient(base_url=sim.paper_url) as http:
            first = (await http.post("/oauth2/tokenP", json=token_body(account))).json()
            sim.faults.expire_tokens()
            second = await http.post("/oauth2/tokenP", json=token_body(account))
        assert second.status_code == 200
        assert second.json()["access_token"] != first["access_token"]
        assert sim.stats.token_issues(account.appkey) == 2
    finally:
        await sim.stop()
