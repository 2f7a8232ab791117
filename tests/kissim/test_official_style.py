"""A client written in the official samples' style works with only the host changed."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from kisweb.kissim import Simulator, make_account

SCRIPT = Path(__file__).with_name("official_style_client.py")
ROOT = Path(__file__).resolve().parents[2]


async def test_official_style_script_runs_against_the_paper_port():
    account = make_account("paper", hts_id="sampleid")
    sim = Simulator(accounts=[account], seed=1, speed=20)  # default limits: 2 req/s on paper
    await sim.start()
    try:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "KIS_URL": sim.paper_url,
            "KIS_WS_URL": sim.paper_ws_url,
            "KIS_APPKEY": account.appkey,
            "KIS_APPSECRET": account.appsecret,
            "KIS_CANO": account.cano,
            "KIS_ACNT_PRDT_CD": account.acnt_prdt_cd,
            "KIS_HTS_ID": account.hts_id,
            "KIS_PAPER": "1",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(SCRIPT),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        await sim.stop()
    assert process.returncode == 0, stderr.decode()
    results = dict(
        line.split(" ", 2)[1:]
        for line in stdout.decode().splitlines()
        if line.startswith("RESULT ")
    )
    assert results["FHKST01010100_tr_id_header"] == "FHKST01010100"
    assert results["price"].isdigit()
    assert results["subscribed_H0STCNT0"] == "SUBSCRIBE SUCCESS"
    assert results["subscribed_H0STCNI9"] == "SUBSCRIBE SUCCESS"
    assert len(results["order_no"]) == 10
    assert results["trade_fields"] == "46"
    assert results["notice_fields"] == "23"
    assert results["notice_hts_id"] == "sampleid"
    assert int(results["notice_fill_qty"]) > 0
    assert sim.stats.token_issues(account.appkey) == 1
    assert sim.stats.orders_received(account.appkey) == 1
