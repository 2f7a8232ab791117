"""Fault switches and the `/__sim__` control endpoint (brief: faults; DESIGN: recovery)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import websockets

from .conftest import (
    DT,
    connect,
    frame_parts,
    recv_until,
    subscribe,
)

SAMSUNG = "005930"


async def wait_for(condition, timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_http_500_answers_with_a_kis_error_body(sim, paper):
    sim.faults.http_500 = True
    response = await paper.price(SAMSUNG)
    assert response.status_code == 500
    assert response.json() == {
        "rt_cd": "1",
        "msg_cd": "EGW00002",
        "msg1": "서버 에러가 발생했습니다.",
    }
    sim.faults.http_500 = False
    assert (await paper.price(SAMSUNG)).status_code == 200


async def test_rate_limit_all(sim, paper):
    sim.faults.rate_limit_all = True
    response = await paper.order("buy", SAMSUNG, 1, 70000)
    assert response.status_code == 500
    assert response.json()["msg_cd"] == "EGW00201"
    assert sim.stats.orders_received(paper.account.appkey) == 0


async def test_expired_tokens_answer_egw00123_and_reissue_is_held_to_a_minute(sim, paper):
    sim.faults.expire_tokens()
    response = await paper.price(SAMSUNG)
    assert response.status_code == 500
    assert response.json()["msg_cd"] == "EGW00123"
    assert response.json()["msg1"] == "기간이 만료된 token 입니다."
    reissue = await paper.http.post(
        "/oauth2/tokenP",
        json={
            "grant_type": "client_credentials",
            "appkey": paper.account.appkey,
            "appsecret": paper.account.appsecret,
        },
    )
    assert reissue.status_code == 403
    assert reissue.json()["error_code"] == "EGW00133"


async def test_hang_never_answers(sim, paper):
    sim.faults.hang = True
    with pytest.raises(httpx.ReadTimeout):
        await paper.http.get("/uapi/domestic-stock/v1/quotations/inquire-price", timeout=0.3)
    sim.faults.hang = False
    assert (await paper.price(SAMSUNG)).status_code == 200


async def test_drop_sockets_closes_websockets_and_in_flight_requests(sim, paper):
    approval = await paper.approval()
    async with await connect(paper) as ws:
        await subscribe(ws, approval, "H0STCNT0", SAMSUNG)
        sim.faults.hang = True
        pending = asyncio.create_task(paper.price(SAMSUNG))
        await wait_for(lambda: sim.api.inflight)
        sim.faults.drop_sockets()
        with pytest.raises(websockets.ConnectionClosed):
            await recv_until(ws, lambda m: False)
        with pytest.raises(httpx.TransportError):
            await pending
    sim.faults.hang = False
    assert (await paper.price(SAMSUNG)).status_code == 200


async def test_lost_order_answer_still_reaches_the_book(sim, paper):
    sim.faults.lose_order_answers = 1
    with pytest.raises(httpx.TransportError):
        await paper.order("buy", SAMSUNG, 3, 70000)
    assert sim.stats.orders_received(paper.account.appkey) == 1
    rows = (await paper.daily_ccld()).json()["output1"]
    assert [(r["pdno"], r["ord_qty"]) for r in rows] == [(SAMSUNG, "3")]
    assert sim.faults.lose_order_answers == 0
    assert (await paper.order("buy", SAMSUNG, 1, 70000)).json()["rt_cd"] == "0"
    lost = [r for r in sim.stats.requests(path=f"{DT}/order-cash") if r.status == 0]
    assert len(lost) == 1


async def test_rejected_orders_do_not_use_up_lost_answers(sim, paper):
    sim.faults.lose_order_answers = 1
    response = await paper.order("buy", SAMSUNG, 1, 71050)  # off the grid: answered
    assert response.json()["rt_cd"] == "1"
    assert sim.faults.lose_order_answers == 1
    with pytest.raises(httpx.TransportError):
        await paper.order("buy", SAMSUNG, 1, 71000)
    assert sim.faults.lose_order_answers == 0


async def test_malformed_frame_reaches_every_session(sim, paper):
    approval = await paper.approval()
    async with await connect(paper) as ws:
        await subscribe(ws, approval, "H0STCNT0", SAMSUNG)
        sim.faults.send_malformed_frame()
        bad = await recv_until(ws, lambda m: m.startswith("0|"))
        assert len(bad.split("|")) < 4
        sim.market.step()  # the session carries on
        good = await recv_until(ws, lambda m: m.startswith("0|"))
        assert frame_parts(good)[1] == "H0STCNT0"


async def test_schema_drift_appends_fields_to_every_record(sim, paper):
    sim.faults.schema_drift = {"H0STCNT0": 3}
    sim.market.set_liquidity(SAMSUNG, 3)
    approval = await paper.approval()
    async with await connect(paper) as ws:
        await subscribe(ws, approval, "H0STCNT0", SAMSUNG)
        await paper.order("buy", SAMSUNG, 6, 71200)
        _, _, count, values = frame_parts(await recv_until(ws, lambda m: m.startswith("0|")))
    assert count == 2
    assert len(values) == 2 * 49
    assert values[49 + 2] == "71200"


async def test_control_endpoint(sim, paper):
    async with httpx.AsyncClient(base_url=sim.real_url) as http:
        status = (await http.get("/__sim__/status")).json()
        assert status["symbols"] == len(sim.market.symbols)
        assert status["clock"]["mode"] == "always"
        assert {"uptime_s", "sessions", "faults", "paper_ws_url"} <= set(status)
        switched = await http.post(
            "/__sim__/faults", json={"http_500": True, "lose_order_answers": 2}
        )
        assert switched.json()["http_500"] is True
        assert (await paper.price(SAMSUNG)).status_code == 500
        reset = await http.post("/__sim__/faults", json={"reset": True})
        assert reset.json()["lose_order_answers"] == 0
        assert (await paper.price(SAMSUNG)).status_code == 200
        assert (await http.post("/__sim__/faults", json={"nope": 1})).status_code == 400
        assert (await http.post("/__sim__/faults", content=b"[")).status_code == 400
        assert (await http.post("/__sim__/faults", json={"hang": "yes"})).status_code == 400
