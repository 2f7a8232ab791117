"""Token single flight: /oauth2/tokenP requests caused by 100 and 1,000 concurrent cold
calls to ``ensure_token()`` against the simulator (target: 1 each)."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kisweb.kis import Environment, KisClient, KisCredentials, MemoryTokenStore
from kisweb.kissim import Simulator, make_account


async def cold_calls(sim: Simulator, callers: int) -> tuple[int, float]:
    account = sim.add_account(make_account("paper"))
    creds = KisCredentials(
        app_key=account.appkey,
        app_secret=account.appsecret,
        account_no=account.cano,
        product_code=account.acnt_prdt_cd,
        env=Environment.PAPER,
    )
    before = len(sim.stats.requests(path="/oauth2/tokenP"))
    async with KisClient(creds, sim.paper_url, token_store=MemoryTokenStore()) as kis:
        started = time.perf_counter()
        await asyncio.gather(*(kis.ensure_token() for _ in range(callers)))
        elapsed = time.perf_counter() - started
    # The token request carries the app key in its body, so count by path.
    issued = len(sim.stats.requests(path="/oauth2/tokenP")) - before
    return issued, elapsed


async def main() -> int:
    sim = Simulator(accounts=[], speed=0)
    await sim.start()
    failed = False
    try:
        for callers in (100, 1000):
            issued, elapsed = await cold_calls(sim, callers)
            verdict = "PASS" if issued == 1 else "FAIL"
            failed |= issued != 1
            print(
                f"{callers:5d} concurrent cold calls: {issued} token request(s) "
                f"in {elapsed * 1000:.1f} ms (target 1) {verdict}"
            )
    finally:
        await sim.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
