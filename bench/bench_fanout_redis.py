"""Hosted fan-out through Redis, beside the in-memory demo figure and a bare floor; then the
KIS rules across four processes.

Fan-out: two web processes with hosted settings (PostgreSQL, channels-redis,
``KISWEB_RELAY_IN_PROCESS=0``) hold ``SOCKETS`` browser WebSockets between them (a client
process connects them alternately, signed in, each watching one symbol's trades). This
process publishes ``FRAMES`` trade frames at ``RATE``/s to the quote group through the
channel layer, as the relay does (``relay.frame``: group, kind, text; each web process
is one member and fans the frame out to its own sockets, ``market/fanout.py``). It also
drains the hub channel in the relay's place, so the consumers' subscribe messages go
somewhere. Latency is receive time minus the moment before ``group_send`` (one machine, one
clock); lost is frames a socket never got. In the same run: ``bench_fanout.py``'s demo
figure (simulator -> in-process hub -> in-memory layer, one web process) for the same sockets and
rate, and a bare ``websockets`` broadcast to the same number of sockets (the floor). The
Redis path and the floor stay connected together and take turns (ROUNDS each), so a change
in the machine's load reaches both. Target: the Redis p99 within 3x the floor's, nothing
lost.

KIS: four ``tests.ops.kis_caller`` processes with hosted settings and one real credential
without a token call the simulator at once (one read each), then read 50 prices each at
once. Target: one token ask between them, no more than 20 arrivals in any second at the
simulator, no EGW00201.

Exits non-zero when a target is missed. Needs PostgreSQL (``BENCH_PG``, default
127.0.0.1:5432 as postgres; it creates ``kisweb_bench_fanout_redis``) and Redis
(``REDIS_URL``, default 127.0.0.1:6379/0).
"""

from __future__ import annotations

import asyncio
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

SOCKETS = int(os.environ.get("BENCH_FANOUT_SOCKETS", "500"))
WEB_PROCESSES = 2
RATE = 10
FRAMES = int(os.environ.get("BENCH_FANOUT_FRAMES", "300"))
ROUNDS = 3  # the Redis path and the floor take turns, FRAMES / ROUNDS frames at a time
SYMBOL = "005930"
P99_TARGET_X_FLOOR = 3.0
KIS_PROCESSES = 4
KIS_READS = 50
KIS_REAL_PER_S = 20
CONNECTS_AT_ONCE = 20
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = "kisweb_bench_fanout_redis"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
HOSTED_ENV = {
    "KISWEB_MODE": "hosted",
    "DATABASE_URL": f"{PG}/{DB_NAME}",
    "REDIS_URL": REDIS_URL,
    "DJANGO_SECRET_KEY": "bench-only-2c7e9a41d0b84f6e93a5c1d7e8f20b4a6c3d9e1f5",
    "KISWEB_ENCRYPTION_KEYS": "bench:YmVuY2gtb25seS1lbmNyeXB0aW9uLWtleS0zMmJ5dGU=",
    "KISWEB_SSL_REDIRECT": "false",
    "KISWEB_RELAY_IN_PROCESS": "0",
    "KISWEB_LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "kisweb.settings",
    "PYTHONUNBUFFERED": "1",
}


# ---------------------------------------------------------------- the client process


async def clients_main(urls: list[str], count: int, cookie: str, floor: bool) -> None:
    """``count`` sockets over ``urls`` in turn; READY once each has had a first frame (a
    warm-up frame, k < 0), then every frame as (socket, k, receive time) on STOP."""
    import websockets

    received: list[tuple[int, int, float]] = []
    warm: set[int] = set()
    everyone_warm = asyncio.Event()
    gate = asyncio.Semaphore(CONNECTS_AT_ONCE)

    async def connect(index: int):
        url = urls[index % len(urls)]
        origin = re.sub(r"^ws", "http", url.split("/ws/")[0].rstrip("/"))
        async with gate:
            ws = await websockets.connect(
                url, additional_headers={"Cookie": cookie, "Origin": origin}, max_queue=None
            )
            if not floor:
                subscribe = {"type": "subscribe", "symbol": SYMBOL, "streams": ["trade"]}
                await ws.send(json.dumps(subscribe))
        return ws

    sockets = await asyncio.gather(*(connect(i) for i in range(count)))

    async def read(index: int, ws) -> None:
        async for text in ws:
            now = time.time()
            message = json.loads(text)
            if message.get("type") != "trade":
                continue
            k = int(message["k"])
            if k < 0:
                warm.add(index)
                if len(warm) == count:
                    everyone_warm.set()
            else:
                received.append((index, k, now))

    readers = [asyncio.create_task(read(i, ws)) for i, ws in enumerate(sockets)]
    await everyone_warm.wait()
    print("READY", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # "STOP"
    for task in readers:
        task.cancel()
    print(json.dumps(received), flush=True)


def start_clients(urls: list[str], count: int, cookie: str, floor: bool) -> subprocess.Popen:
    arguments = ["--clients", ",".join(urls), str(count), cookie, str(int(floor))]
    return subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, __file__, *arguments],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def stop_clients(child: subprocess.Popen) -> list[tuple[int, int, float]]:
    out, _ = child.communicate("STOP\n", timeout=120)
    return [tuple(row) for row in json.loads(out.strip().splitlines()[-1])]


# ---------------------------------------------------------------- figures


def frame_text(k: int) -> str:
    return json.dumps({"type": "trade", "symbol": SYMBOL, "k": k, "price": "71000"})


async def warm_up_until_ready(child: subprocess.Popen, publish) -> None:
    """Warm-up frames twice a second until every socket has had one."""
    loop = asyncio.get_running_loop()
    assert child.stdout is not None
    line = loop.run_in_executor(None, child.stdout.readline)
    deadline = time.monotonic() + 180
    while not line.done():
        if time.monotonic() > deadline or child.poll() is not None:
            raise RuntimeError(f"the clients never all heard a warm-up frame ({child.poll()})")
        await publish(-1)
        await asyncio.wait([line], timeout=0.5)
    if "READY" not in line.result():
        raise RuntimeError(f"clients did not start: {line.result()!r}")


async def publish_frames(publish, ks: range, sent: dict[int, float]) -> None:
    """Frames ``ks`` at RATE a second, noting when each was sent; then the time the last
    ones need to reach the sockets."""
    started = time.monotonic()
    for n, k in enumerate(ks):
        await asyncio.sleep(max(0.0, started + n / RATE - time.monotonic()))
        sent[k] = time.time()
        await publish(k)
    await asyncio.sleep(2.0)


def latency_figures(sent: dict[int, float], received, count: int) -> dict[str, float]:
    delivered = {(socket, k): t for socket, k, t in received if k in sent}
    latencies = sorted((t - sent[k]) * 1000 for (_, k), t in delivered.items())
    expected = len(sent) * count
    if not latencies:
        return {"p50": float("inf"), "p99": float("inf"), "lost": expected, "of": expected}
    return {
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "lost": expected - len(delivered),
        "of": expected,
    }


def line_for(name: str, figures: dict[str, float]) -> str:
    return (
        f"{name:28s} p50 {figures['p50']:7.2f} ms  p99 {figures['p99']:7.2f} ms  "
        f"lost {int(figures['lost'])}/{int(figures['of'])}"
    )


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# ---------------------------------------------------------------- runs


def demo_figure() -> str:
    """bench_fanout.py's relay line for the same sockets, rate and frames (its own
    processes: simulator, in-process hub, in-memory layer, one web process)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in HOSTED_ENV or key == "PYTHONUNBUFFERED"
    }
    env["BENCH_FANOUT_RUNS"] = f"{SOCKETS}:{RATE}:{FRAMES}"
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(ROOT / "bench" / "bench_fanout.py")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    for line in done.stdout.splitlines():
        if "relay:" in line:
            return line.split("relay:", 1)[1].strip()
    return f"no figure (bench_fanout.py exited {done.returncode}: {done.stderr[-300:]})"


async def side_by_side(
    urls: list[str], cookie: str, group: str, web_processes
) -> tuple[dict[str, float], dict[str, float]]:
    """The Redis path and the floor, both connected all along and measured in turns
    (ROUNDS of each, alternating), so a change in the machine's load hits both alike."""
    from channels.layers import get_channel_layer
    from websockets.asyncio.server import broadcast, serve

    from market.hub import hub_channel

    layer = get_channel_layer()
    floor_sockets: set = set()

    async def drain_hub() -> None:
        while True:
            await layer.receive(hub_channel())

    async def via_redis(k: int) -> None:
        frame = {"type": "relay.frame", "group": group, "kind": "trade", "text": frame_text(k)}
        await layer.group_send(group, frame)

    async def via_floor(k: int) -> None:
        broadcast(floor_sockets, frame_text(k))

    async def floor_handler(ws) -> None:
        floor_sockets.add(ws)
        try:
            await ws.wait_closed()
        finally:
            floor_sockets.discard(ws)

    drain = asyncio.create_task(drain_hub())
    sent: dict[str, dict[int, float]] = {"redis": {}, "floor": {}}
    children: list[subprocess.Popen] = []
    loop = asyncio.get_running_loop()
    try:
        async with serve(floor_handler, "127.0.0.1", 0) as server:
            floor_url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/ws/"
            relay_clients = start_clients(urls, SOCKETS, cookie, floor=False)
            children.append(relay_clients)
            await warm_up_until_ready(relay_clients, via_redis)
            floor_clients = start_clients([floor_url], SOCKETS, "x=1", floor=True)
            children.append(floor_clients)
            await warm_up_until_ready(floor_clients, via_floor)
            rss = ", ".join(f"{rss_mb(d.pid):.0f}" for d in web_processes)
            per_round = FRAMES // ROUNDS
            for n in range(ROUNDS):
                ks = range(n * per_round, (n + 1) * per_round)
                await publish_frames(via_redis, ks, sent["redis"])
                await publish_frames(via_floor, ks, sent["floor"])
            redis_received = await loop.run_in_executor(None, stop_clients, relay_clients)
            floor_received = await loop.run_in_executor(None, stop_clients, floor_clients)
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
        drain.cancel()
    print(f"server RSS with {SOCKETS // len(web_processes)} sockets each (MB): {rss}")
    return (
        latency_figures(sent["redis"], redis_received, SOCKETS),
        latency_figures(sent["floor"], floor_received, SOCKETS),
    )


def kis_run(sim, credential) -> bool:
    """Four caller processes: one read each from cold, then KIS_READS each at once."""
    env = {
        **os.environ,
        **HOSTED_ENV,
        "KISWEB_KIS_REAL_REST_URL": sim.real_url,
        "KISWEB_KIS_REAL_WS_URL": sim.real_ws_url,
        "KISWEB_KIS_PAPER_REST_URL": sim.paper_url,
        "KISWEB_KIS_PAPER_WS_URL": sim.paper_ws_url,
    }
    callers = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "tests.ops.kis_caller", str(credential.pk)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(KIS_PROCESSES)
    ]

    def answer(process) -> str:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("kis_caller "):
                return line.removeprefix("kis_caller ").strip()
        raise RuntimeError("a caller process ended early")

    try:
        assert all(answer(p) == "ready" for p in callers)
        failures = 0
        for count in (1, KIS_READS):
            for process in callers:
                assert process.stdin is not None
                process.stdin.write(f"{count}\n")
                process.stdin.flush()
            failures += sum(len(json.loads(answer(p))["errors"]) for p in callers)
    finally:
        for process in callers:
            if process.poll() is None:
                process.kill()
            process.communicate(timeout=30)
    app_key = credential.app_key
    reads = [r for r in sim.stats.requests(appkey=app_key) if r.tr_id]
    from tests.helpers import max_in_any_window

    busiest = max_in_any_window([r.t for r in reads])
    refused = sum(r.msg_cd == "EGW00201" for r in reads)
    asks, issues = sim.stats.token_requests(app_key), sim.stats.token_issues(app_key)
    ok = asks == 1 and busiest <= KIS_REAL_PER_S and refused == 0 and failures == 0
    print(
        f"KIS, {KIS_PROCESSES} processes, one real key, cold start: token asks {asks}, "
        f"issues {issues}; {len(reads)} reads, busiest 1-s window {busiest} "
        f"(limit {KIS_REAL_PER_S}), EGW00201 {refused}, failed reads {failures} "
        f"{'PASS' if ok else 'FAIL'}"
    )
    from tests.figures import record

    what = f"{KIS_PROCESSES} processes, one real app key, cold start"
    record("load", "KIS token asks / issues", f"{asks} / {issues}", "", what)
    record("load", "KIS busiest second", busiest, "calls", f"limit {KIS_REAL_PER_S}; {what}")
    record("load", "KIS EGW00201 refusals / failed reads", f"{refused} / {failures}", "", "goal 0")
    return ok


def fresh_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def start_web(port: int, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        command("127.0.0.1", port),
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,  # its warnings and errors go to stderr, as the bench's
    )


def wait_healthy(port: int) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the web server on {port} did not answer /healthz")


def main() -> int:
    print(f"fan-out of {SYMBOL} trades to {SOCKETS} sockets at {RATE}/s, {FRAMES} frames")
    demo = demo_figure()  # first, alone on the machine's cores
    fresh_database()
    os.environ.update(HOSTED_ENV)
    os.environ["KISWEB_VAR_DIR"] = tempfile.mkdtemp(prefix="kisweb-bench-")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from accounts.actions import CredentialInput, create_credential
    from kisweb.kissim import make_account
    from kisweb.kissim.testing import SimulatorThread
    from market.hub import quote_group
    from market.models import Symbol

    call_command("migrate", verbosity=0)
    Symbol.objects.get_or_create(code=SYMBOL, market="KOSPI", defaults={"name": "삼성전자"})
    with SimulatorThread(speed=0) as simulator:
        sim = simulator.sim

        def credential_for(user, environment: str):
            account = sim.add_account(make_account(environment))
            fields = CredentialInput(
                label=f"bench {environment}",
                environment=environment,
                app_key=account.appkey,
                app_secret=account.appsecret,
                account_number=account.cano,
                product_code=account.acnt_prdt_cd,
                hts_id=account.hts_id,
            )
            return create_credential(user, fields)

        users = get_user_model().objects
        watcher = users.create_user("bench", password="bench-pass-phrase-1")
        paper = credential_for(watcher, "paper")
        client = Client()
        client.force_login(watcher)
        cookie = f"sessionid={client.cookies['sessionid'].value}"

        env = {**os.environ, "KISWEB_KIS_PAPER_REST_URL": sim.paper_url}
        ports = [18500 + os.getpid() % 400 + i for i in range(WEB_PROCESSES)]
        web_processes = [start_web(port, env) for port in ports]
        try:
            for port in ports:
                wait_healthy(port)
            urls = [f"ws://127.0.0.1:{port}/ws/market/" for port in ports]
            group = quote_group(paper.app_key, "trade", SYMBOL)
            redis, floor = asyncio.run(side_by_side(urls, cookie, group, web_processes))
        finally:
            for server in web_processes:
                server.terminate()
                server.wait(20)
        print(f"{'demo (in-memory, 1 web process)':28s} {demo}")
        print(line_for(f"redis ({WEB_PROCESSES} web)", redis))
        print(line_for("floor (bare websockets)", floor))
        fanout_ok = redis["lost"] == 0 and redis["p99"] <= P99_TARGET_X_FLOOR * floor["p99"]
        from tests.figures import record

        what = f"{SOCKETS} sockets, {RATE} frames/s, {FRAMES} frames"
        record("load", "hosted fan-out: demo (in-memory, 1 web process)", demo, "", what)
        for name, figures in ((f"redis ({WEB_PROCESSES} web)", redis), ("bare floor", floor)):
            record(
                "load",
                f"hosted fan-out: {name} p50 / p99",
                f"{figures['p50']:.1f} / {figures['p99']:.1f}",
                "ms",
                f"lost {int(figures['lost'])} / {int(figures['of'])}",
            )
        print(
            f"redis p99 {redis['p99'] / floor['p99']:.2f}x the floor's (target <= "
            f"{P99_TARGET_X_FLOOR:g}x), lost {int(redis['lost'])} (target 0) "
            f"{'PASS' if fanout_ok else 'FAIL'}"
        )
        trader = users.create_user("bench-kis", password="bench-pass-phrase-2")
        kis_ok = kis_run(sim, credential_for(trader, "real"))
    return 0 if fanout_ok and kis_ok else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--clients":
        urls, count, cookie, floor = sys.argv[2:6]
        asyncio.run(clients_main(urls.split(","), int(count), cookie, floor == "1"))
    else:
        sys.exit(main())
