"""SimulatorThread, the CLI and the account helpers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from kisweb.kissim import DEMO_ACCOUNTS, load_accounts, make_account
from kisweb.kissim.__main__ import main
from kisweb.kissim.testing import SimulatorThread

ROOT = Path(__file__).resolve().parents[2]


# Bounds here catch a hang (aiohttp waits 10 s for a close handshake by default), not
# speed: bench/bench_sim.py measures start-up (about 20 ms).
HANG_S = 3.0


def test_simulator_thread_starts_and_stops_quickly():
    began = time.monotonic()
    runner = SimulatorThread(seed=1, speed=0).start()
    started = time.monotonic()
    try:
        assert started - began < HANG_S
        response = httpx.get(f"{runner.paper_url}/__sim__/status", timeout=2)
        assert response.json()["accounts"] == len(DEMO_ACCOUNTS)
        assert runner.real_ws_url == f"ws://127.0.0.1:{runner.real_port}"
    finally:
        runner.stop()
    assert time.monotonic() - started < HANG_S


def test_simulator_thread_call_and_faults_from_another_thread():
    with SimulatorThread(speed=0) as runner:
        runner.call(runner.sim.market.set_price, "005930", Decimal(72000))
        assert runner.call(lambda: runner.sim.market.quote("005930").price) == Decimal(72000)

        async def sessions() -> int:
            await asyncio.sleep(0)
            return len(runner.sim.hub.sessions)

        assert runner.call(sessions) == 0
        runner.sim.faults.http_500 = True
        response = httpx.get(f"{runner.real_url}/uapi/domestic-stock/v1/quotations/inquire-price")
        assert response.status_code == 500
        runner.sim.faults.drop_sockets()  # safe from this thread too


def test_simulator_thread_on_a_busy_port_raises():
    with SimulatorThread(speed=0) as first, pytest.raises(OSError):
        SimulatorThread(speed=0, real_port=first.real_port).start()


def test_demo_accounts():
    paper, real = DEMO_ACCOUNTS
    assert (paper.env, real.env) == ("paper", "real")
    assert paper.appkey.startswith("PS")
    assert (paper.cano, paper.acnt_prdt_cd, paper.hts_id) == ("50000001", "01", "demo")
    assert paper.cash_krw == Decimal(100_000_000)
    assert paper.cash_usd > 0
    for account in DEMO_ACCOUNTS:
        assert len(account.appkey) == 36
        assert len(account.appsecret) == 180


def test_make_account_generates_fresh_keys():
    a, b = make_account("paper", hts_id="x1", cash_krw=5), make_account("real")
    assert (len(a.appkey), len(a.appsecret)) == (36, 180)
    assert a.appkey != b.appkey
    assert (a.hts_id, a.cash_krw, a.env) == ("x1", Decimal(5), "paper")
    with pytest.raises(ValueError):
        make_account("demo")


def test_load_accounts(tmp_path):
    path = tmp_path / "accounts.json"
    row = {
        "appkey": "PS" + "a" * 34,
        "appsecret": "s" * 180,
        "env": "paper",
        "cano": "50001234",
        "acnt_prdt_cd": "01",
        "hts_id": "kim",
        "cash_krw": 1000000,
        "cash_usd": "12.50",
    }
    path.write_text(json.dumps([row]))
    (account,) = load_accounts(path)
    assert (account.cano, account.cash_usd) == ("50001234", Decimal("12.50"))
    path.write_text(json.dumps([{**row, "colour": "red"}]))
    with pytest.raises(ValueError):
        load_accounts(path)


def test_cli_rejects_a_bad_accounts_file(tmp_path, capsys):
    path = tmp_path / "accounts.json"
    path.write_text("{}")
    assert main(["--accounts", str(path), "--real-port", "0", "--paper-port", "0"]) == 1
    assert "JSON list" in capsys.readouterr().err


async def test_cli_serves_until_sigterm(tmp_path):
    account = make_account("paper", hts_id="cli")
    path = tmp_path / "accounts.json"
    path.write_text(
        json.dumps(
            [
                {
                    "appkey": account.appkey,
                    "appsecret": account.appsecret,
                    "env": "paper",
                    "cano": account.cano,
                    "acnt_prdt_cd": "01",
                    "hts_id": "cli",
                    "cash_krw": 1000,
                }
            ]
        )
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kisweb.kissim",
        "--real-port=0",
        "--paper-port=0",
        "--seed=3",
        "--speed=5",
        "--clock=krx",
        f"--accounts={path}",
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        real_line = (await asyncio.wait_for(process.stdout.readline(), 10)).decode()
        paper_line = (await asyncio.wait_for(process.stdout.readline(), 10)).decode()
        assert real_line.startswith("real  REST http://127.0.0.1:")
        assert "WS ws://127.0.0.1:" in paper_line
        paper_url = paper_line.split()[2]
        async with httpx.AsyncClient() as http:
            status = (await http.get(f"{paper_url}/__sim__/status")).json()
        assert (status["accounts"], status["clock"]["mode"], status["speed"]) == (1, "krx", 5.0)
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 10)
    assert code == 0


def test_stop_is_quick_with_a_client_that_never_answers_the_close():
    runner = SimulatorThread(speed=0).start()
    raw = socket.create_connection(("127.0.0.1", runner.paper_port))
    raw.sendall(
        b"GET /tryitout HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    assert b"101" in raw.recv(1024).split(b"\r\n")[0]
    began = time.monotonic()
    runner.stop()
    raw.close()
    assert time.monotonic() - began < HANG_S
