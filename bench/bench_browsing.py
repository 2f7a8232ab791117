"""Browsing under load: 50 signed-in users, each with a credential of their own on the
simulator, move between their portfolio, their order history and a quote page against a
real web process, for ``--duration`` seconds (20 in ``make bench``; ``--soak 300`` in
``make soak``).

the web server is a child process serving ``kisweb.asgi.application`` with demo settings (SQLite,
in-memory layer) as in bench_fanout.py; the simulator runs on a thread of this process with
KIS's per-second limits. The credentials are paper ones (2 calls a second per app key,
spent in the web process's limiter as against KIS); ``--environment real`` gives each
user a real-money key (20 a second) to tell KIS's limit from kisweb's own cost. Each user
is one HTTP client that loads a page, then pauses ``--think`` seconds on average (0.5x to
1.5x, at random) as a person would. Printed: requests a second, p50/p99 per page and
overall, errors (any answer but 200, or no answer) and the server's RSS at the start and the
end (every 30 s in a soak).
Target: p99 under 1 s over every page, 0 errors; the bench exits 1 when it is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kisweb.serving import command  # noqa: E402
from tests.figures import record  # noqa: E402

USERS = 50
DURATION_S = 20.0
THINK_S = 1.0
P99_TARGET_S = 1.0
RSS_EVERY_S = 30.0
HOLDINGS = ("005930", "000660", "035420", "051910", "005380")
QUOTES = ("005930", "000660", "035420")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cuts(samples_s: list[float]) -> tuple[float, float]:
    if len(samples_s) < 2:
        value = samples_s[0] if samples_s else float("nan")
        return value, value
    quantiles = statistics.quantiles(samples_s, n=100, method="inclusive")
    return quantiles[49], quantiles[98]


def pages(index: int) -> list[tuple[str, str]]:
    """One user's round: (page name, path); each user starts at another point of it."""
    quote = QUOTES[index % len(QUOTES)]
    round_ = [
        ("portfolio", "/trading/portfolio/"),
        ("order history", "/trading/orders/"),
        ("quote", f"/market/quotes/{quote}/"),
    ]
    shift = index % len(round_)
    return round_[shift:] + round_[:shift]


async def browse(
    origin: str, cookies: list[str], seconds: float, think_s: float, server_pid: int
) -> tuple[dict[str, list[float]], list[str], list[tuple[float, float]], float]:
    import httpx

    samples: dict[str, list[float]] = {}
    errors: list[str] = []
    rss: list[tuple[float, float]] = [(0.0, rss_mb(server_pid))]
    started = time.monotonic()
    deadline = started + seconds

    async def user(index: int, cookie: str) -> None:
        rng = random.Random(index)
        headers = {"Cookie": cookie, "Accept-Language": "en"}
        timeout = httpx.Timeout(30.0)
        async with httpx.AsyncClient(base_url=origin, headers=headers, timeout=timeout) as client:
            await asyncio.sleep(rng.uniform(0, think_s))  # users arrive over a second or so
            turn = 0
            round_ = pages(index)
            while time.monotonic() < deadline:
                name, path = round_[turn % len(round_)]
                turn += 1
                began = time.perf_counter()
                try:
                    response = await client.get(path)
                except httpx.HTTPError as error:
                    errors.append(f"{name}: {type(error).__name__}")
                else:
                    if response.status_code != 200:
                        errors.append(f"{name}: HTTP {response.status_code}")
                samples.setdefault(name, []).append(time.perf_counter() - began)
                await asyncio.sleep(think_s * rng.uniform(0.5, 1.5))

    async def watch_rss() -> None:
        while True:
            await asyncio.sleep(RSS_EVERY_S)
            rss.append((time.monotonic() - started, rss_mb(server_pid)))

    watcher = asyncio.create_task(watch_rss())
    await asyncio.gather(*(user(i, cookie) for i, cookie in enumerate(cookies)))
    watcher.cancel()
    elapsed = time.monotonic() - started
    rss.append((elapsed, rss_mb(server_pid)))
    return samples, errors, rss, elapsed


def start_web(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        command("127.0.0.1", port),
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )


def wait_healthy(origin: str) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{origin}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the web server did not answer /healthz")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=DURATION_S, help="seconds (20)")
    parser.add_argument("--soak", type=float, default=None, help="a long run: seconds (300)")
    parser.add_argument("--users", type=int, default=USERS, help="signed-in users (50)")
    parser.add_argument("--think", type=float, default=THINK_S, help="mean pause (1.0 s)")
    parser.add_argument("--environment", choices=("paper", "real"), default="paper")
    args = parser.parse_args()
    seconds = args.soak if args.soak is not None else args.duration

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
            "KISWEB_KIS_REAL_REST_URL": sim.real_url,
            "KISWEB_KIS_REAL_WS_URL": sim.real_ws_url,
            "KISWEB_LOG_LEVEL": "WARNING",
        }
        env.pop("REDIS_URL", None)
        env.pop("DATABASE_URL", None)
        os.environ.update(env)
        import django

        django.setup()
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.test import Client

        from accounts.actions import CredentialInput, create_credential, verify_credential

        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        call_command("migrate", verbosity=0)
        call_command("loadsymbols", "--bundled", verbosity=0)
        cookies = []
        for index in range(args.users):
            holdings = {code: 10 + index for code in HOLDINGS}
            account = sim.add_account(make_account(args.environment, holdings=holdings))
            user = get_user_model().objects.create_user(
                f"browser{index}", password="bench-pass-phrase-1"
            )
            credential = create_credential(
                user,
                CredentialInput(
                    label=f"{args.environment} {index}",
                    environment=args.environment,
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
            cookies.append(f"sessionid={client.cookies['sessionid'].value}")

        port = 19000 + os.getpid() % 1000
        origin = f"http://127.0.0.1:{port}"
        server = start_web(port, env)
        try:
            wait_healthy(origin)
            samples, errors, rss, elapsed = asyncio.run(
                browse(origin, cookies, seconds, args.think, server.pid)
            )
        finally:
            server.terminate()
            server.wait(20)

    every = [s for page in samples.values() for s in page]
    count = len(every)
    per_s = count / elapsed if elapsed else 0.0
    p50, p99 = cuts(every)
    print(
        f"browsing: {args.users} users ({args.environment} credentials), {elapsed:.0f} s, "
        f"think {args.think:g} s on average, "
        f"{count} requests ({per_s:.1f}/s)"
    )
    for name, page in samples.items():
        page_p50, page_p99 = cuts(page)
        print(
            f"  {name:14s} {len(page):5d} requests  p50 {page_p50 * 1e3:7.1f} ms  "
            f"p99 {page_p99 * 1e3:7.1f} ms"
        )
        figure = f"{page_p50 * 1e3:.0f} / {page_p99 * 1e3:.0f}"
        record("load", f"browsing: {name} p50 / p99", figure, "ms", f"{len(page)} requests")
    print(
        f"  {'every page':14s} {count:5d} requests  p50 {p50 * 1e3:7.1f} ms  "
        f"p99 {p99 * 1e3:7.1f} ms"
    )
    print(f"  errors {len(errors)}" + (f": {', '.join(sorted(set(errors))[:5])}" if errors else ""))
    print("  server RSS (MB): " + ", ".join(f"{at:.0f} s {mb:.0f}" for at, mb in rss))
    growth = rss[-1][1] - rss[0][1]
    met = p99 < P99_TARGET_S and not errors and count > 0
    print(f"  target p99 < 1 s over every page, 0 errors: {'met' if met else 'MISSED'}")
    note = f"{args.users} users ({args.environment}), {elapsed:.0f} s, think {args.think:g} s"
    record("load", "browsing: requests per second", round(per_s, 1), "req/s", note)
    verdict = f"target p99 < 1000 ms: {'met' if met else 'MISSED'}"
    record(
        "load",
        "browsing: every page p50 / p99",
        f"{p50 * 1e3:.0f} / {p99 * 1e3:.0f}",
        "ms",
        verdict,
    )
    record("load", "browsing: errors", len(errors), "", "target 0")
    rss_ends = f"{rss[0][1]:.0f} / {rss[-1][1]:.0f}"
    growth_note = f"growth {growth:+.0f} MB over {elapsed:.0f} s"
    record("load", "browsing: server RSS start / end", rss_ends, "MB", growth_note)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
