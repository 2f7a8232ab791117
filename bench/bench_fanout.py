"""Relay fan-out: from a simulator trade to N browser sockets, beside a bare floor.

The whole path is real: the simulator (this process) sends the frame over KIS's wire
protocol to the web server (a child process serving ``kisweb.asgi.application`` in demo mode, so
the hub runs in-process on the in-memory layer), whose hub parses it and ``group_send``s
it to N consumers, which write it to N WebSockets held by a second child process (the
clients). The floor is a bare ``websockets`` server in this process broadcasting the same
number of messages at the same rate to the same client process. Latency is receive time
minus the moment the trade was made (one machine, one clock). Also: the server RSS with
500 sockets. Figures only; no target is asserted here.

``--soak SECONDS --symbols N`` (``make soak``: 300 s, 40 symbols) holds ``--sockets`` (500)
browser sockets, each subscribed to N symbols' trades, while this process trades every one
of the N symbols ``--rate`` times a second at the simulator, for SECONDS. It prints latency
p50/p99, frames lost (a live symbol's trade a socket never got, counted by the clients),
frames dropped (the web server's own ``kisweb_relay_drops`` counter, from its /metrics), how many
symbols went live and how many delayed (KIS allows 41 registrations per app key, and the
execution notices hold 2 of them), and the server's RSS every 30 s with its growth from the
first minute to the last. Target: none lost, none dropped, RSS growth under 20%; it exits
1 when missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kisweb.serving import command  # noqa: E402

RUNS = [(1, 50, 150), (100, 50, 150), (500, 10, 60)]  # (sockets, frames/s, frames)
if os.environ.get("BENCH_FANOUT_RUNS"):  # e.g. "500:10:60,100:50:150" for one case while profiling
    RUNS = [
        (int(n), int(r), int(f))
        for n, r, f in (part.split(":") for part in os.environ["BENCH_FANOUT_RUNS"].split(","))
    ]
SYMBOL = "005930"
SOAK_SOCKETS = 500
SOAK_RATE_PER_SYMBOL = 0.25  # trades a second per symbol: 10/s on 40 symbols
SUBSCRIBES_PER_S = 10  # well under the consumer's 20 messages a second per socket
CONNECTS_AT_ONCE = 20  # sockets connecting or subscribing at once
RSS_EVERY_S = 30.0
RSS_GROWTH_TARGET = 0.20
METRICS_TOKEN = "bench-only-metrics-token-5f1c"


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


# ---------------------------------------------------------------- the soak


async def soak_clients_main(url: str, count: int, cookies: str, origin: str, codes: str) -> None:
    """``count`` sockets, each subscribed to every symbol in ``codes``; READY with how many
    subscriptions went live and delayed. Then every trade frame is matched to the moment
    the driver made that trade (``code volume time`` lines on stdin) until ``STOP``. The
    sockets take the users' ``cookies`` (comma-separated) in turn."""
    import websockets

    symbols = codes.split(",")
    users = cookies.split(",")
    gate = asyncio.Semaphore(CONNECTS_AT_ONCE)
    modes: dict[str, dict[str, str]] = {}  # socket -> symbol -> mode
    live: dict[str, set[int]] = {code: set() for code in symbols}  # symbol -> sockets
    sent: dict[tuple[str, int], float] = {}
    early: dict[tuple[str, int], list[float]] = {}
    latencies: list[float] = []
    received: dict[str, int] = dict.fromkeys(symbols, 0)
    statuses = [0]

    async def connect(index: int):
        async with gate:
            cookie = users[index % len(users)]
            return await websockets.connect(
                url, additional_headers={"Cookie": cookie, "Origin": origin}, max_queue=None
            )

    async def subscribe(index: int, ws) -> None:
        """Paced under the consumer's limit; any it refused anyway (a busy server reads a
        burst late) is asked again once the socket has gone quiet."""
        mine = modes.setdefault(str(index), {})
        async with gate:
            for _ in range(10):
                pending = [code for code in symbols if code not in mine]
                if not pending:
                    break
                for code in pending:
                    await ws.send(json.dumps({"type": "subscribe", "symbol": code}))
                    await asyncio.sleep(1.0 / SUBSCRIBES_PER_S)
                with contextlib.suppress(TimeoutError):
                    while len(mine) < len(symbols):
                        text = await asyncio.wait_for(ws.recv(), timeout=3.0)
                        if '"type":"subscribed"' in text:
                            message = json.loads(text)
                            mine[message["symbol"]] = message["mode"]
                        elif '"type":"error"' in text and '"rate_limited"' not in text:
                            raise RuntimeError(f"socket {index}: {text}")
        if len(mine) < len(symbols):
            raise RuntimeError(f"socket {index}: {len(mine)} of {len(symbols)} subscribed")
        for code, mode in mine.items():
            if mode == "live":
                live[code].add(index)

    # Each user's first socket opens that app key's session at the hub; the hub reads no
    # other message meanwhile, so those go first, then the other tabs, then subscriptions.
    first = await asyncio.gather(*(connect(i) for i in range(min(len(users), count))))
    await asyncio.sleep(5.0)
    sockets = first + list(await asyncio.gather(*(connect(i) for i in range(len(first), count))))
    await asyncio.gather(*(subscribe(i, ws) for i, ws in enumerate(sockets)))
    tally: dict[str, int] = {}
    for mine in modes.values():
        for mode in mine.values():
            tally[mode] = tally.get(mode, 0) + 1
    print("READY " + json.dumps(tally), flush=True)

    def seen(code: str, volume: int, now: float) -> None:
        at = sent.get((code, volume))
        if at is None:
            early.setdefault((code, volume), []).append(now)
        else:
            latencies.append(now - at)
            received[code] += 1

    async def read(index: int, ws) -> None:
        async for text in ws:
            now = time.time()
            if '"type":"trade"' not in text:
                statuses[0] += 1
                continue
            if '"snapshot":true' in text:
                continue
            message = json.loads(text)
            if index in live.get(message["symbol"], ()):
                seen(message["symbol"], int(message["cum_volume"]), now)

    readers = [asyncio.create_task(read(i, ws)) for i, ws in enumerate(sockets)]
    loop = asyncio.get_running_loop()
    ticks: dict[str, int] = dict.fromkeys(symbols, 0)
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line or line.startswith("STOP"):
            break
        code, volume, at = line.split()
        key = (code, int(volume))
        sent[key] = float(at)
        ticks[code] += 1
        for now in early.pop(key, []):
            latencies.append(now - float(at))
            received[code] += 1
    expected = sum(ticks[code] * len(live[code]) for code in symbols)
    # The last frames are on their way: a loaded relay is seconds behind, and a frame
    # that arrives late is late (its latency says so), not lost. Stop once none arrive.
    quiet_since, last_total = time.monotonic(), -1
    for _ in range(120):
        total = sum(received.values())
        if total >= expected:
            break
        if total != last_total:
            quiet_since, last_total = time.monotonic(), total
        elif time.monotonic() - quiet_since >= 3.0:
            break
        await asyncio.sleep(0.5)
    for task in readers:
        task.cancel()
    latencies.sort()
    result = {
        "p50": statistics.median(latencies) * 1000 if latencies else None,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
        if latencies
        else None,
        "max": latencies[-1] * 1000 if latencies else None,
        "received": sum(received.values()),
        "expected": expected,
        "statuses": statuses[0],
    }
    print(json.dumps(result), flush=True)


def metrics_drops(origin: str) -> dict[str, float]:
    """the web server's ``kisweb_relay_drops`` by reason, from its /metrics."""
    import httpx

    response = httpx.get(
        f"{origin}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
    )
    response.raise_for_status()
    drops: dict[str, float] = {}
    for line in response.text.splitlines():
        found = re.match(r'kisweb_relay_drops_total\{reason="([^"]+)"\} (\S+)', line)
        if found:
            drops[found.group(1)] = float(found.group(2))
    return drops


def soak(sim, url: str, cookie: str, origin: str, server_pid: int, args) -> bool:
    from tests.figures import record

    codes = soak_symbols(args.symbols)
    began_setup = time.monotonic()
    arguments = ["--soak-clients", url, str(args.sockets), cookie, origin, ",".join(codes)]
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, __file__, *arguments],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    ready = child.stdout.readline()
    if not ready.startswith("READY"):
        raise RuntimeError(f"the soak's clients did not start: {ready!r}")
    modes = json.loads(ready.split(" ", 1)[1])
    setup_s = time.monotonic() - began_setup
    print(
        f"soak: {args.sockets} sockets x {len(codes)} symbols on {args.keys} app keys subscribed "
        f"in {setup_s:.0f} s: "
        f"{modes.get('live', 0)} live, {modes.get('delayed', 0)} delayed subscriptions"
    )
    drops_before = metrics_drops(origin)
    market = sim.market
    interval = 1.0 / (args.rate * len(codes))
    rss: list[tuple[float, float]] = [(0.0, rss_mb(server_pid))]
    started = time.monotonic()
    n = 0
    while time.monotonic() - started < args.soak:
        due = started + n * interval
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        code = codes[n % len(codes)]
        base = market.symbols[code].price
        price = market.symbols[code].move(base, 1 if (n // len(codes)) % 2 == 0 else -1)
        at = time.time()
        market.set_price(code, price)
        child.stdin.write(f"{code} {market.symbols[code].volume} {at}\n")
        child.stdin.flush()
        n += 1
        if time.monotonic() - started >= len(rss) * RSS_EVERY_S:
            rss.append((time.monotonic() - started, rss_mb(server_pid)))
    elapsed = time.monotonic() - started
    rss.append((elapsed, rss_mb(server_pid)))
    out, _ = child.communicate("STOP\n", timeout=120)
    result = json.loads(out.strip().splitlines()[-1])
    drops_after = metrics_drops(origin)
    dropped = sum(drops_after.values()) - sum(drops_before.values())
    lost = result["expected"] - result["received"]
    first = [mb for at, mb in rss if at <= 60] or [rss[0][1]]
    last = [mb for at, mb in rss if at >= elapsed - 60] or [rss[-1][1]]
    growth = (statistics.mean(last) - statistics.mean(first)) / statistics.mean(first)
    p50, p99 = result["p50"], result["p99"]
    print(
        f"soak: {elapsed:.0f} s, {n} trades ({n / elapsed:.1f}/s over {len(codes)} symbols, "
        f"{args.rate:g}/s each), {result['received']} frames to sockets "
        f"({result['received'] / elapsed:.0f}/s), {result['statuses']} other messages"
    )
    if p50 is not None:
        print(f"  latency p50 {p50:.1f} ms  p99 {p99:.1f} ms  max {result['max']:.1f} ms")
    print(f"  lost {lost} of {result['expected']} (clients); dropped {dropped:.0f} (server)")
    print("  server RSS (MB): " + ", ".join(f"{at:.0f} s {mb:.0f}" for at, mb in rss))
    print(
        f"  RSS first minute {statistics.mean(first):.0f} MB, last minute "
        f"{statistics.mean(last):.0f} MB: growth {growth * 100:+.1f}%"
    )
    met = lost == 0 and dropped == 0 and growth < RSS_GROWTH_TARGET and p50 is not None
    print(f"  target none lost, none dropped, RSS growth < 20%: {'met' if met else 'MISSED'}")
    what = f"{args.sockets} sockets x {len(codes)} symbols, {args.keys} app keys, {elapsed:.0f} s"
    record("load", "soak fan-out: sockets x symbols", what)
    record(
        "load",
        "soak fan-out: subscriptions live / delayed",
        f"{modes.get('live', 0)} / {modes.get('delayed', 0)}",
        "",
        "41 registrations per app key; the execution notices hold 2",
    )
    record(
        "load", "soak fan-out: subscribe time", round(setup_s), "s", "every socket, every symbol"
    )
    record("load", "soak fan-out: trades made", n, "", f"{n / elapsed:.1f}/s at the simulator")
    record("load", "soak fan-out: frames to sockets", result["received"], "", "live symbols")
    if p50 is not None:
        record("load", "soak fan-out: latency p50 / p99", f"{p50:.0f} / {p99:.0f}", "ms")
    record("load", "soak fan-out: frames lost", f"{lost} / {result['expected']}", "", "target 0")
    record("load", "soak fan-out: frames dropped by the web server", round(dropped), "", "target 0")
    record(
        "load",
        "soak fan-out: server RSS first / last minute",
        f"{statistics.mean(first):.0f} / {statistics.mean(last):.0f}",
        "MB",
        f"growth {growth * 100:+.1f}% (target < 20%)",
    )
    return met


def soak_symbols(count: int) -> list[str]:
    """The first ``count`` KOSPI/KOSDAQ listings of the simulator that the symbol master
    holds."""
    from kisweb.kissim.symbols import KRX_LISTINGS
    from market.models import Symbol

    known = set(
        Symbol.objects.filter(market__in=("KOSPI", "KOSDAQ")).values_list("code", flat=True)
    )
    codes = [code for code, *_ in KRX_LISTINGS if code in known][:count]
    if len(codes) < count:
        raise RuntimeError(f"only {len(codes)} symbols to watch, {count} asked")
    return codes


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


def main() -> int:
    from tests.figures import record

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--soak", type=float, default=None, help="soak seconds (300)")
    parser.add_argument("--symbols", type=int, default=40, help="symbols per socket (40)")
    parser.add_argument("--sockets", type=int, default=SOAK_SOCKETS, help="sockets (500)")
    parser.add_argument(
        "--keys", type=int, default=1, help="users, each with an app key; sockets take turns"
    )
    parser.add_argument(
        "--rate", type=float, default=SOAK_RATE_PER_SYMBOL, help="trades/s per symbol (0.25)"
    )
    args = parser.parse_args()
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
            "KISWEB_METRICS_TOKEN": METRICS_TOKEN,
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
        if args.soak is not None:
            call_command("loadsymbols", "--bundled", verbosity=0)

        def member(name: str) -> str:
            """A signed-in user with a paper credential of their own: its session cookie."""
            account = sim.add_account(make_account("paper"))
            user = get_user_model().objects.create_user(name, password="bench-pass-1")
            credential = create_credential(
                user,
                CredentialInput(
                    label=name,
                    environment="paper",
                    app_key=account.appkey,
                    app_secret=account.appsecret,
                    account_number=account.cano,
                    product_code=account.acnt_prdt_cd,
                    hts_id=account.hts_id,
                ),
            )
            assert verify_credential(user, credential).ok
            client = Client()
            client.force_login(user)
            return f"sessionid={client.cookies['sessionid'].value}"

        cookie = member("bench")
        Symbol.objects.get_or_create(code=SYMBOL, market="KOSPI", defaults={"name": "삼성전자"})

        port = 18000 + os.getpid() % 1000
        server = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command("127.0.0.1", port),
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=None if args.soak is not None else subprocess.DEVNULL,  # a soak shows errors
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
            if args.soak is not None:
                cookies = [cookie] + [member(f"bench{n}") for n in range(1, args.keys)]
                return 0 if soak(sim, url, ",".join(cookies), origin, server.pid, args) else 1
            print(f"relay fan-out, {SYMBOL} trades: simulator -> web server hub -> N sockets")
            for count, rate, frames in RUNS:
                relay = relay_run(sim, url, cookie, origin, count, rate, frames)
                floor = floor_run(count, rate, frames)
                print(f"N={count:4d} @ {rate:3d}/s  relay: {relay}")
                print(f"{'':16s}floor: {floor}")
                what = f"{count} sockets, 1 symbol, {rate} frames/s, {frames} frames"
                record("load", f"fan-out {count} sockets: relay", relay, "", what)
                record("load", f"fan-out {count} sockets: bare floor", floor, "", what)
            child = start_clients(url, 500, cookie, origin, floor=False)
            time.sleep(1.0)
            resident = rss_mb(server.pid)
            print(f"server RSS with 500 sockets on 1 symbol: {resident:.1f} MB")
            record("load", "fan-out: server RSS with 500 sockets", round(resident), "MB")
            stop_clients(child)
        finally:
            server.terminate()
            server.wait(10)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--clients":
        url, count, cookie, origin, floor = sys.argv[2:7]
        asyncio.run(clients_main(url, int(count), cookie, origin, floor == "1"))
    elif len(sys.argv) > 1 and sys.argv[1] == "--soak-clients":
        url, count, cookie, origin, codes = sys.argv[2:7]
        asyncio.run(soak_clients_main(url, int(count), cookie, origin, codes))
    else:
        sys.exit(main())
