"""The realtime WebSocket: subscribe/ack, OPSP errors, caps, sessions, frames (§7)."""

from __future__ import annotations

import json

import httpx
import pytest
import websockets

from kisweb.kissim import Simulator, make_account

from .conftest import (
    NO_LIMITS,
    Kis,
    connect,
    decrypt,
    frame_parts,
    receive_nothing,
    recv_json,
    recv_until,
    subscribe,
    subscribe_message,
)

SAMSUNG = "005930"


def is_frame(tr_id: str):
    return lambda m: m.split("|", 2)[1:2] == [tr_id]


async def test_subscribe_ack_has_kis_shape(paper):
    approval = await paper.approval()
    async with await connect(paper) as ws:
        quote = await subscribe(ws, approval, "H0STCNT0", SAMSUNG)
        notice = await subscribe(ws, approval, "H0STCNI9", "alice01")
    assert quote["header"] == {"tr_id": "H0STCNT0", "tr_key": SAMSUNG, "encrypt": "N"}
    assert quote["body"]["rt_cd"] == "0"
    assert (quote["body"]["msg_cd"], quote["body"]["msg1"]) == ("OPSP0000", "SUBSCRIBE SUCCESS")
    assert notice["header"]["encrypt"] == "Y"
    output = notice["body"]["output"]
    assert len(output["iv"]) == 16 and output["iv"].isascii()
    assert len(output["key"]) == 32 and output["key"].isascii()


async def test_unsubscribe_ack_and_frames_stop(sim, paper):
    approval = await paper.approval()
    async with await connect(paper) as ws:
        await subscribe(ws, approval, "H0STCNT0", SAMSUNG)
        sim.market.step()
        await recv_until(ws, is_frame("H0STCNT0"))
        ack = await subscribe(ws, approval, "H0STCNT0", SAMSUNG, tr_type="2")
        assert (ack["body"]["msg_cd"], ack["body"]["msg1"]) == ("OPSP0001", "UNSUBSCRIBE SUCCESS")
        sim.market.step()
        await receive_nothing(ws, is_frame("H0STCNT0"))


@pytest.mark.parametrize("path", ["", "/", "/tryitout", "/tryitout/H0STCNT0"])
async def test_every_kis_ws_path_works(paper, path):
    approval = await paper.approval()
    async with await connect(paper, path) as ws:
        ack = await subscribe(ws, approval, "H0STCNT0", SAMSUNG)
    assert ack["body"]["rt_cd"] == "0"


def with_(approval, drop=(), header=None, body=None, data=None):
    message = json.loads(subscribe_message(approval, "H0STCNT0", SAMSUNG))
    message["header"].update(header or {})
    message["body"]["input"].update(data or {})
    for path in drop:
        target = message
        *parents, leaf = path.split(".")
        for part in parents:
            target = target[part]
        del target[leaf]
    if body is not None:
        message["body"] = body
    return json.dumps(message)


@pytest.mark.parametrize(
    ("build", "msg_cd"),
    [
        (lambda a: "{not json", "OPSP9999"),
        (lambda a: "[1, 2]", "OPSP9999"),
        (lambda a: with_(a, drop=["header"]), "OPSP9998"),
        (lambda a: with_(a, drop=["body"]), "OPSP9997"),
        (lambda a: with_(a, drop=["body.input"]), "OPSP9996"),
        (lambda a: with_(a, drop=["body.input.tr_id"]), "OPSP9995"),
        (lambda a: with_(a, drop=["body.input.tr_key"]), "OPSP9994"),
        (lambda a: with_(a, drop=["header.approval_key"]), "OPSP9993"),
        (lambda a: with_(a, drop=["header.tr_type"]), "OPSP9992"),
        (lambda a: with_(a, header={"approval_key": "0" * 36}), "OPSP0011"),
        (lambda a: with_(a, header={"tr_type": "0"}), "OPSP8997"),
        (lambda a: with_(a, header={"custtype": "X"}), "OPSP8998"),
        (lambda a: with_(a, data={"tr_id": "H0XXCNT0"}), "OPSP8991"),
        (lambda a: with_(a, data={"tr_id": "H0STCNI0", "tr_key": "alice01"}), "OPSP8991"),
        (lambda a: with_(a, data={"tr_key": "999999"}), "OPSP8992"),
        (lambda a: with_(a, data={"tr_id": "HDFSCNT0", "tr_key": "DNYSAAPL"}), "OPSP8992"),
    ],
)
async def test_opsp_errors_and_the_socket_stays_open(paper, build, msg_cd):
    approval = await paper.approval()
    async with await connect(paper) as ws:
        await ws.send(build(approval))
        error = await recv_json(ws)
        assert error["body"]["rt_cd"] != "0"
        assert error["body"]["msg_cd"] == msg_cd
        assert "output" not in error["body"]
        assert {"tr_id", "tr_key", "encrypt"} <= set(error["header"])
        ok = await subscribe(ws, approval, "H0STCNT0", SAMSUNG)
        assert ok["body"]["rt_cd"] == "0"


async def test_already_subscribed_and_unknown_unsubscribe(paper):
    approval = await paper.approval()
    async with await connect(paper) as ws:
        await subscribe(ws, approval, "H0STCNT0", SAMSUNG)
        again = await subscribe(ws, approval, "H0STCNT0", SAMSUNG)
        missing = await subscribe(ws, approval, "H0STASP0", SAMSUNG, tr_type="2")
    assert (again["body"]["msg_cd"], again["body"]["msg1"]) == ("OPSP0002", "ALREADY IN SUBSCRIBE")
    assert missing["body"]["msg_cd"] == "OPSP0003"


async def test_paper_approval_key_on_real_port_is_invalid_appkey(sim, paper):
    approval = await paper.approval()
    async with websockets.connect(sim.real_ws_url, ping_interval=None) as ws:
        error = await subscribe(ws, approval, "H0STCNT0", SAMSUNG)
    assert error["body"]["msg_cd"] == "OPSP0010"


async def test_paper_host_approval_key_for_a_real_app_key_opens_the_real_socket(sim, real):
    """python-kis in paper mode asks the paper host with the real app key (docs/kis-protocol.md
    §2.3); the key opens the real socket only."""
    body = {
        "grant_type": "client_credentials",
        "appkey": real.account.appkey,
        "secretkey": real.account.appsecret,
    }
    async with httpx.AsyncClient(base_url=sim.paper_url) as http:
        response = await http.post("/oauth2/Approval", json=body)
    assert response.status_code == 200
    approval = response.json()["approval_key"]
    assert sim.stats.approval_issues(real.account.appkey) == 1
    async with websockets.connect(sim.real_ws_url + "/tryitout", ping_interval=None) as ws:
        ack = await subscribe(ws, approval, "H0STCNT0", SAMSUNG)
        sim.market.step()
        frame = await recv_until(ws, is_frame("H0STCNT0"))
    assert ack["body"]["msg_cd"] == "OPSP0000"
    assert frame_parts(frame)[3][0] == SAMSUNG
    async with websockets.connect(sim.paper_ws_url, ping_interval=None) as ws:
        error = await subscribe(ws, approval, "H0STCNT0", SAMSUNG)
    assert error["body"]["msg_cd"] == "OPSP0010"


async def test_41_registrations_then_max_subscribe_over(sim, paper):
    codes = [c for c, s in sim.market.symbols.items() if s.domestic]
    wanted = [("H0STCNI9", "alice01")] + [
        (tr, code) for code in codes for tr in ("H0STCNT0", "H0STASP0")
    ]
    approval = await paper.approval()
    async with await connect(paper) as ws:
        for tr_id, tr_key in wanted[:41]:
            assert (await subscribe(ws, approval, tr_id, tr_key))["body"]["rt_cd"] == "0"
        over = await subscribe(ws, approval, *wanted[41])
        assert (over["body"]["msg_cd"], over["body"]["msg1"]) == ("OPSP0008", "MAX SUBSCRIBE OVER")
        # freeing one makes room again
        await subscribe(ws, approval, *wanted[1], tr_type="2")
        assert (await subscribe(ws, approval, *wanted[41]))["body"]["rt_cd"] == "0"


async def test_second_session_is_refused_and_the_first_keeps_working(sim, paper):
    approval = await paper.approval()
    async with await connect(paper) as first:
        await subscribe(first, approval, "H0STCNT0", SAMSUNG)
        assert sim.stats.ws_sessions(paper.account.appkey) == 1
        async with await connect(paper) as second:
            refused = await subscribe(second, approval, "H0STASP0", SAMSUNG)
            assert refused["body"]["msg_cd"] == "OPSP8996"
            assert refused["body"]["msg1"] == "ALREADY IN USE appkey"
            with pytest.raises(websockets.ConnectionClosed):
                await recv_until(second, lambda m: True)
        sim.market.step()
        await recv_until(first, is_frame("H0STCNT0"))
        assert sim.stats.ws_sessions(paper.account.appkey) == 1
    await _wait_for(lambda: sim.stats.ws_sessions(paper.account.appkey) == 0)


async def _wait_for(condition, timeout: float = 2.0) -> None:
    import asyncio

    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_refusals_and_registrations_are_counted_per_app_key(sim, paper):
    appkey = paper.account.appkey
    approval = await paper.approval()
    async with await connect(paper) as first:
        await subscribe(first, approval, "H0STCNT0", SAMSUNG)
        await subscribe(first, approval, "H0STCNT0", SAMSUNG)  # OPSP0002: not a second one
        for _ in range(2):
            async with await connect(paper) as refused:
                await subscribe(refused, approval, "H0STCNT0", SAMSUNG)
    assert sim.stats.session_refusals(appkey) == 2
    assert sim.stats.registrations(appkey, "H0STCNT0", SAMSUNG) == 1
    assert sim.stats.registrations(appkey, "H0STASP0", SAMSUNG) == 0
    sim.stats.reset()
    assert sim.stats.session_refusals(appkey) == 0
    assert sim.stats.registrations(appkey, "H0STCNT0", SAMSUNG) == 0


async def test_after_disconnect_a_new_session_may_bind(sim, paper):
    approval = await paper.approval()
    async with await connect(paper) as first:
        await subscribe(first, approval, "H0STCNT0", SAMSUNG)
    await _wait_for(lambda: sim.stats.ws_sessions(paper.account.appkey) == 0)
    async with await connect(paper) as second:
        assert (await subscribe(second, approval, "H0STCNT0", SAMSUNG))["body"]["rt_cd"] == "0"


async def test_each_session_opened_is_stamped_refusals_are_not(sim, paper):
    import time

    appkey = paper.account.appkey
    approval = await paper.approval()
    began = time.monotonic()
    for _ in range(2):
        async with await connect(paper) as session:
            await subscribe(session, approval, "H0STCNT0", SAMSUNG)
            async with await connect(paper) as refused:
                await subscribe(refused, approval, "H0STCNT0", SAMSUNG)
        await _wait_for(lambda: sim.stats.ws_sessions(appkey) == 0)
    opens = sim.stats.session_opens(appkey)
    assert len(opens) == 2 and began <= opens[0] <= opens[1] <= time.monotonic()
    assert sim.stats.session_refusals(appkey) == 2
    sim.stats.reset()
    assert sim.stats.session_opens(appkey) == []


# -- frames ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tr_id", "tr_key", "fields"),
    [
        ("H0STCNT0", SAMSUNG, 46),
        ("H0STASP0", SAMSUNG, 62),
        ("HDFSCNT0", "DNASAAPL", 26),
        ("HDFSASP0", "DNASAAPL", 71),
        ("HDFSCNT0", "DNYSKO", 26),
    ],
)
async def test_data_frames_carry_the_real_field_counts(sim, paper, tr_id, tr_key, fields):
    approval = await paper.approval()
    async with await connect(paper) as ws:
        await subscribe(ws, approval, tr_id, tr_key)
        for _ in range(3):
            sim.market.step()
            enc, got_tr, count, values = frame_parts(await recv_until(ws, is_frame(tr_id)))
            assert (enc, got_tr) == ("0", tr_id)
            assert len(values) == count * fields
            assert values[0] == tr_key


async def test_trade_frame_fields_are_consistent(sim, paper):
    approval = await paper.approval()
    sim.market.set_liquidity(SAMSUNG, 1000)
    async with await connect(paper) as ws:
        await subscribe(ws, approval, "H0STCNT0", SAMSUNG)
        sim.market.set_price(SAMSUNG, 72000)
        _, _, count, values = frame_parts(await recv_until(ws, is_frame("H0STCNT0")))
    assert count == 1
    assert values[2] == "72000"  # STCK_PRPR
    assert values[3] == "2"  # up
    assert values[4] == "1000"  # signed change vs 71,000
    assert values[5] == "1.41"
    assert (values[10], values[11]) == ("72100", "72000")  # best ask / bid
    assert len(values[33]) == 8  # BSOP_DATE


async def test_several_trades_in_one_tick_make_a_multi_record_frame(sim, paper):
    sim.market.set_liquidity(SAMSUNG, 3)
    approval = await paper.approval()
    async with await connect(paper) as ws:
        await subscribe(ws, approval, "H0STCNT0", SAMSUNG)
        await paper.order("buy", SAMSUNG, 9, 71300)  # sweeps 71,100 / 71,200 / 71,300
        _, _, count, values = frame_parts(await recv_until(ws, is_frame("H0STCNT0")))
    assert count == 3
    assert len(values) == 3 * 46
    assert [values[i * 46 + 2] for i in range(3)] == ["71100", "71200", "71300"]
    assert [values[i * 46 + 12] for i in range(3)] == ["3", "3", "3"]


# -- notices ---------------------------------------------------------------------------------


async def notices_for(kis: Kis, hts_id: str, tr_id: str):
    approval = await kis.approval()
    ws = await connect(kis)
    ack = await subscribe(ws, approval, tr_id, hts_id)
    assert ack["header"]["encrypt"] == "Y"
    return ws, ack["body"]["output"]["key"], ack["body"]["output"]["iv"]


async def read_notice(ws, tr_id: str, key: str, iv: str) -> list[str]:
    message = await recv_until(ws, is_frame(tr_id))
    enc, got, count, payload = message.split("|", 3)
    assert (enc, got, count) == ("1", tr_id, "001")
    return decrypt(payload, key, iv).split("^")


async def test_notices_decrypt_with_the_ack_key_and_iv(sim, paper):
    sim.market.set_liquidity(SAMSUNG, 100)
    ws, key, iv = await notices_for(paper, "alice01", "H0STCNI9")
    async with ws:
        odno = (await paper.order("buy", SAMSUNG, 2, 0, ord_dvsn="01")).json()["output"]["ODNO"]
        accepted = await read_notice(ws, "H0STCNI9", key, iv)
        filled = await read_notice(ws, "H0STCNI9", key, iv)
    assert len(accepted) == len(filled) == 23  # as captured (docs/kis-protocol.md §7.9)
    assert accepted[0] == "alice01"
    assert accepted[1] == paper.account.cano + paper.account.acnt_prdt_cd
    assert (accepted[2], accepted[4], accepted[8]) == (odno, "02", SAMSUNG)
    assert (accepted[12], accepted[13], accepted[16]) == ("0", "1", "000000002")
    assert (filled[2], filled[9], filled[10], filled[13]) == (odno, "0000000002", "000071100", "2")
    assert filled[21] == "삼성전자"


async def test_revise_cancel_and_reject_send_notices(sim, paper):
    ws, key, iv = await notices_for(paper, "alice01", "H0STCNI9")
    async with ws:
        odno = (await paper.order("buy", SAMSUNG, 5, 70000)).json()["output"]["ODNO"]
        await read_notice(ws, "H0STCNI9", key, iv)
        cancel = (await paper.rvsecncl(odno, "02")).json()["output"]["ODNO"]
        cancelled = await read_notice(ws, "H0STCNI9", key, iv)
        await paper.order("buy", SAMSUNG, 1, 71050)  # off the tick grid
        rejected = await read_notice(ws, "H0STCNI9", key, iv)
    assert (cancelled[2], cancelled[3], cancelled[5]) == (cancel, odno, "2")
    assert rejected[12] == "1"  # RFUS_YN


async def test_notices_reach_only_the_matching_hts_id(sim, make_kis):
    alice = await make_kis("paper", hts_id="alice01")
    bob = await make_kis("paper", hts_id="bob01")
    sim.market.set_liquidity(SAMSUNG, 100)
    alice_ws, key, iv = await notices_for(alice, "alice01", "H0STCNI9")
    bob_ws, _, _ = await notices_for(bob, "bob01", "H0STCNI9")
    async with alice_ws, bob_ws:
        await alice.order("buy", SAMSUNG, 1, 0, ord_dvsn="01")
        assert (await read_notice(alice_ws, "H0STCNI9", key, iv))[0] == "alice01"
        await receive_nothing(bob_ws, is_frame("H0STCNI9"))


async def test_real_environment_uses_h0stcni0(sim, real):
    sim.market.set_liquidity(SAMSUNG, 100)
    ws, key, iv = await notices_for(real, "realbob", "H0STCNI0")
    async with ws:
        await real.order("buy", SAMSUNG, 1, 0, ord_dvsn="01")
        assert (await read_notice(ws, "H0STCNI0", key, iv))[0] == "realbob"


async def test_overseas_notice_has_25_fields(sim, paper):
    ws, key, iv = await notices_for(paper, "alice01", "H0GSCNI9")
    async with ws:
        await paper.post(
            "/uapi/overseas-stock/v1/trading/order",
            "VTTT1002U",
            {
                **paper.acct(),
                "OVRS_EXCG_CD": "NASD",
                "PDNO": "AAPL",
                "ORD_QTY": "1",
                "OVRS_ORD_UNPR": "150.00",
                "CTAC_TLNO": "",
                "MGCO_APTM_ODNO": "",
                "SLL_TYPE": "",
                "ORD_SVR_DVSN_CD": "0",
                "ORD_DVSN": "00",
            },
        )
        fields = await read_notice(ws, "H0GSCNI9", key, iv)
    assert len(fields) == 25
    assert (fields[7], fields[9]) == ("AAPL", "001500000")


# -- PINGPONG --------------------------------------------------------------------------------


@pytest.fixture
async def fast_ping():
    account = make_account("paper", hts_id="pinger")
    sim = Simulator(
        accounts=[account],
        speed=0,
        pingpong_interval_s=0.15,
        pingpong_timeout_s=0.3,
        rate_limits=NO_LIMITS,
    )
    await sim.start()
    kis = await Kis(sim, account).login()
    yield sim, kis
    await kis.aclose()
    await sim.stop()


async def answer_pings(ws, how: str, rounds: int) -> None:
    for _ in range(rounds):
        ping = await recv_until(ws, lambda m: "PINGPONG" in m)
        header = json.loads(ping)["header"]
        assert header["tr_id"] == "PINGPONG"
        assert len(header["datetime"]) == 14
        if how == "echo":
            await ws.send(ping)
        elif how == "pong":
            await ws.pong(ping.encode())
        else:
            await ws.ping(ping.encode())


@pytest.mark.parametrize("how", ["echo", "pong", "ping"])
async def test_answered_pingpong_keeps_the_session(fast_ping, how):
    sim, kis = fast_ping
    approval = await kis.approval()
    async with await connect(kis) as ws:
        await subscribe(ws, approval, "H0STCNT0", SAMSUNG)
        await answer_pings(ws, how, rounds=4)  # ~0.6 s, twice the timeout
        sim.market.step()
        await recv_until(ws, is_frame("H0STCNT0"))


async def test_unanswered_pingpong_drops_the_client(fast_ping):
    sim, kis = fast_ping
    approval = await kis.approval()
    async with await connect(kis) as ws:
        await subscribe(ws, approval, "H0STCNT0", SAMSUNG)
        with pytest.raises(websockets.ConnectionClosed):
            await recv_until(ws, lambda m: False, timeout=2.0)
    await _wait_for(lambda: sim.stats.ws_sessions(kis.account.appkey) == 0)
