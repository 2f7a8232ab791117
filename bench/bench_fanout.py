"""Relay fan-out: from a simulator trade to N browser sockets, beside a bare floor.

The whole path is real: the simulator (this process) sends the frame over KIS's wire
protocol to daphne (a child process serving ``kisweb.asgi.application`` in demo mode, so
the hub runs in-process on the in-memory layer), whose hub parses it and ``group_send``s
it to N consumers, which write it to N WebSockets held by a second child process (the
clients). The floor is a bare ``websockets`` server in this process broadcasting the same
number of messages at the same rate to the same client process. Latency is receive time
minus the moment the trade was made (one machine, one clock). Also: the daphne RSS with
500 sockets. Figures only; no target is asserted here.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RUNS = [(1, 50, 150), (100, 50, 150), (500, 10, 60)]  # (sockets, frames/s, frames)
if os.environ.get("BENCH_FANOUT_RUNS"):  # e.g. "500:10:60,100:50:150" for one case while profiling
    RUNS = [
        (int(n), int(r), int(f))
        for n, r, f in (part.split(":") for part in os.environ["BENCH_FANOUT_RUNS"].split(","))
    ]
SYMBOL = "005930"


# ---------------------------------------------------------------- the client process


async def clients_main(url: str, count: int, cookie: str, origin: str, floor: bool) -> None:
    import websockets

    received: list[tuple[float, int]] = []
    headers = {"Cookie": cookie, "Origin": origin}
    sockets = []
    for _ in range(count):
        ws = await websockets.connect(url, additional_headers=headers, max_queue=None)
        sockets.append(ws)
        if not floor:
            await ws.send(json.dumps({"type": "subscribe", "symbol": SYMBOL, "streams": ["trade"]}))

    async def wait_subscribed(ws) -> None:
        async for text in ws:
            if json.loads(text).get("type") == "subscribed":
                return

    if not floor:
        await asyncio.gather(*(wait_subscribed(ws) for ws in sockets))
    print("READY", flush=True)

    async def read(ws) -> None:
        async for text in ws:
            now = time.time()
            message = json.loads(text)
            if floor:
                received.append((now, int(message["k"])))
            elif message.get("type") == "trade":
                received.append((now, int(message["cum_volume"])))

    readers = [asyncio.create_task(read(ws)) for ws in sockets]
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # "STOP"
    for task in readers:
        task.cancel()
    print(json.dumps(received), flush=True)


# ---------------------------------------------------------------- the driver


def start_clients(url: str, count: int, cookie: str, origin: str, floor: bool):
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, __file__, "--clients", url, str(count), cookie, origin, str(int(floor))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    if "READY" not in line:
        raise RuntimeError(f"clients did not start: {line!r}")
    return child


def stop_clients(child) -> list[tuple[float, int]]:
    out, _ = child.communicate("STOP\n", timeout=60)
    return [tuple(x) for x in json.loads(out.strip().splitlines()[-1])]


def figures(sent: dict[int, float], received: list, count: int) -> str:
    latencies = [(t - sent[k]) * 1000 for t, k in received if k in sent]
    expected = len(sent) * count
    lost = expected - len(latencies)
    if not latencies:
        return f"nothing received of {expected}"
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return f"p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  lost {lost}/{expected}"


def relay_run(sim, url, cookie, origin, count, rate, frames) -> str:
    market = sim.market
    child = start_clients(url, count, cookie, origin, floor=False)
    time.sleep(0.5)
    sent: dict[int, float] = {}
    prices = (71000, 71100)
    for index in range(frames):
        began = time.time()
        market.set_price(SYMBOL, prices[index % 2])
        sent[market.symbols[SYMBOL].volume] = began
        time.sleep(max(0.0, 1 / rate - (time.time() - began)))
    time.sleep(1.0)
    return figures(sent, stop_clients(child), count)


def floor_run(count, rate, frames) -> str:
    import threading

    import websockets
    from websockets.asyncio.server import broadcast, serve

    ready = threading.Event()
    state: dict = {}

    async def main() -> None:
        clients = set()

        async def handler(ws) -> None:
            clients.add(ws)
            try:
                await ws.wait_closed()
            finally:
                clients.discard(ws)

        async with serve(handler, "127.0.0.1", 0) as server:
            state["port"] = server.sockets[0].getsockname()[1]
            state["loop"] = asyncio.get_running_loop()
            state["clients"] = clients
            state["stop"] = asyncio.Event()
            ready.set()
            await state["stop"].wait()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    ready.wait(10)
    url = f"ws://127.0.0.1:{state['port']}/"
    child = start_clients(url, count, "x=1", "http://127.0.0.1", floor=True)
    time.sleep(0.5)
    sent: dict[int, float] = {}
    loop = state["loop"]
    for index in range(frames):
        began = time.time()
        sent[index] = began
        text = json.dumps({"type": "trade", "k": index, "price": "71000"})
        loop.call_soon_threadsafe(broadcast, state["clients"], text)
        time.sleep(max(0.0, 1 / rate - (time.time() - began)))
    time.sleep(1.0)
    result = figures(sent, stop_clients(child), count)
    loop.call_soon_threadsafe(state["stop"].set)
    thread.join(5)
    del websockets
    return result


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    from kisweb.kissim import make_account
    from kisweb.kissim.testing import SimulatorThread

    workdir = Path(tempfile.mkdtemp(prefix="kisweb-bench-"))
    with SimulatorThread(speed=0) as simulator:
        sim = simulator.sim
        env = {
            **os.environ,
            "KISWEB_MODE": "demo",
            "KISWEB_VAR_DIR": str(workdir),
            "DJANGO_SETTINGS_MODULE": "kisweb.settings",
            "KISWEB_KIS_PAPER_REST_URL": sim.paper_url,
            "KISWEB_KIS_PAPER_WS_URL": sim.paper_ws_url,
            "KISWEB_LOG_LEVEL": "WARNING",
        }
        env.pop("REDIS_URL", None)
        env.pop("DATABASE_URL", None)
        os.environ.update(env)
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.test import Client

        from accounts.actions import CredentialInput, create_credential, verify_credential
        from market.models import Symbol

        call_command("migrate", verbosity=0)
        account = sim.add_account(make_account("paper"))
        user = get_user_model().objects.create_user("bench", password="bench-pass-1")
        credential = create_credential(
            user,
            CredentialInput(
                label="bench",
                environment="paper",
                app_key=account.appkey,
                app_secret=account.appsecret,
                account_number=account.cano,
                product_code=account.acnt_prdt_cd,
                hts_id=account.hts_id,
            ),
        )
        assert verify_credential(user, credential).ok
        Symbol.objects.get_or_create(code=SYMBOL, market="KOSPI", defaults={"name": "삼성전자"})
        client = Client()
        client.force_login(user)
        cookie = f"sessionid={client.cookies['sessionid'].value}"

        port = 18000 + os.getpid() % 1000
        daphne = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "kisweb.asgi:application",
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            origin = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            import httpx

            while time.monotonic() < deadline:
                try:
                    httpx.get(f"{origin}/health/", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            url = f"ws://127.0.0.1:{port}/ws/market/"
            print(f"relay fan-out, {SYMBOL} trades: simulator -> daphne hub -> N sockets")
            for count, rate, frames in RUNS:
                relay = relay_run(sim, url, cookie, origin, count, rate, frames)
                floor = floor_run(count, rate, frames)
                print(f"N={count:4d} @ {rate:3d}/s  relay: {relay}")
                print(f"{'':16s}floor: {floor}")
            child = start_clients(url, 500, cookie, origin, floor=False)
            time.sleep(1.0)
            print(f"daphne RSS with 500 sockets on 1 symbol: {rss_mb(daphne.pid):.1f} MB")
            stop_clients(child)
        finally:
            daphne.terminate()
            daphne.wait(10)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--clients":
        url, count, cookie, origin, floor = sys.argv[2:7]
        asyncio.run(clients_main(url, int(count), cookie, origin, floor == "1"))
    else:
        main()
