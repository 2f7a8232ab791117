"""`python -m kisweb.kissim`: serve the simulator until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from .accounts import DEMO_ACCOUNTS, load_accounts
from .server import Simulator


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m kisweb.kissim", description="KIS Open Trading API simulator"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--real-port", type=int, default=19443)
    parser.add_argument("--paper-port", type=int, default=29443)
    parser.add_argument("--accounts", help="JSON list of accounts (default: the demo accounts)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--speed", type=float, default=1.0, help="random-walk ticks per second")
    parser.add_argument("--clock", choices=("always", "krx"), default="always")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    accounts = load_accounts(args.accounts) if args.accounts else list(DEMO_ACCOUNTS)
    sim = Simulator(
        accounts=accounts,
        seed=args.seed,
        host=args.host,
        real_port=args.real_port,
        paper_port=args.paper_port,
        speed=args.speed,
        clock=args.clock,
    )
    await sim.start()
    print(f"real  REST {sim.real_url}  WS {sim.real_ws_url}", flush=True)
    print(f"paper REST {sim.paper_url}  WS {sim.paper_ws_url}", flush=True)
    for account in accounts:
        print(
            f"{account.env:5} account {account.cano}-{account.acnt_prdt_cd} "
            f"hts_id {account.hts_id} appkey {account.appkey[:6]}…",
            flush=True,
        )
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, done.set)
    try:
        await done.wait()
    finally:
        await sim.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        asyncio.run(serve(args))
    except (OSError, ValueError, TypeError) as error:  # busy port, bad accounts file
        print(f"kissim: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
