"""The simulator's own throughput: REST answers/s, market steps/s, WS frames delivered/s.

Run with the rate limits lifted, so the figure is the simulator's capacity (what bounds a
load test against it), not KIS's 20/s rule. The REST load comes from aiohttp's client in the
same process (httpx's per-request overhead would dominate the figure).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
import httpx
import websockets

from kisweb.kissim import Simulator, make_account
from kisweb.kissim.market import Market

DURATION_S = 2.0
CONCURRENCY = 8


async def rest_rate(sim: Simulator, account) -> float:
    async with aiohttp.ClientSession(base_url=sim.real_url) as http:
        body = {
            "grant_type": "client_credentials",
            "appkey": account.appkey,
            "appsecret": account.appsecret,
        }
        async with http.post("/oauth2/tokenP", json=body) as response:
            token = (await response.json())["access_token"]
        headers = {
            "authorization": f"Bearer {token}",
            "appkey": account.appkey,
            "appsecret": account.appsecret,
            "tr_id": "FHKST01010100",
        }
        params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
        done = 0
        deadline = time.monotonic() + DURATION_S

        async def worker() -> None:
            nonlocal done
            while time.monotonic() < deadline:
                async with http.get(
                    "/uapi/domestic-stock/v1/quotations/inquire-price",
                    params=params,
                    headers=headers,
                ) as response:
                    await response.read()
                    assert response.status == 200
                done += 1

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return done / DURATION_S


async def frame_rate(sim: Simulator, account) -> float:
    async with httpx.AsyncClient(base_url=sim.real_url) as http:
        approval = (
            await http.post(
                "/oauth2/Approval",
                json={
                    "grant_type": "client_credentials",
                    "appkey": account.appkey,
                    "secretkey": account.appsecret,
                },
            )
        ).json()["approval_key"]
    codes = [c for c, s in sim.market.symbols.items() if s.domestic][:20]
    frames = 0
    async with websockets.connect(sim.real_ws_url, ping_interval=None) as ws:
        for code in codes:
            for tr_id in ("H0STCNT0", "H0STASP0"):
                header = {"approval_key": approval, "custtype": "P", "tr_type": "1"}
                body = {"input": {"tr_id": tr_id, "tr_key": code}}
                await ws.send(json.dumps({"header": header, "body": body}))
        deadline = time.monotonic() + DURATION_S
        while time.monotonic() < deadline:
            sim.market.step()
            await asyncio.sleep(0)
            while True:
                try:
                    message = await asyncio.wait_for(ws.recv(), 0.001)
                except TimeoutError:
                    break
                frames += message[0] in "01"
    return frames / DURATION_S


def step_rate() -> float:
    market = Market(seed=1)
    steps = 0
    deadline = time.monotonic() + DURATION_S
    while time.monotonic() < deadline:
        market.step()
        steps += 1
    return steps / DURATION_S


async def main() -> None:
    account = make_account("real")
    started = time.monotonic()
    sim = Simulator(accounts=[account], speed=0, rate_limits={"real": 10**9, "paper": 10**9})
    await sim.start()
    print(f"start:        {1000 * (time.monotonic() - started):8.1f} ms")
    try:
        print(f"REST:         {await rest_rate(sim, account):8.0f} inquire-price answers/s")
        print(f"WebSocket:    {await frame_rate(sim, account):8.0f} frames/s (40 subscriptions)")
    finally:
        await sim.stop()
    symbols = len(Market().symbols)
    print(f"market step:  {step_rate():8.1f} steps/s ({symbols} symbols each)")


if __name__ == "__main__":
    asyncio.run(main())
