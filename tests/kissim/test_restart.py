"""A simulator restarted over an earlier one's exchange (``Simulator(market=...)``): the
same ports, the book and order history kept, tokens forgotten, as when KIS restarts its
gateway overnight; with the clock moved to the next day, open orders have lapsed."""

from __future__ import annotations

import datetime as dt

from kisweb.kissim import Simulator, make_account
from kisweb.kissim.clock import KST, Clock

from .conftest import NO_LIMITS, Kis

SAMSUNG = "005930"


async def test_a_restart_keeps_the_book_forgets_tokens_and_rolls_the_day():
    day = {"now": dt.datetime(2026, 7, 8, 10, 0, tzinfo=KST)}
    clock = Clock("always", now=lambda: day["now"])
    sim = Simulator(accounts=[], speed=0, clock=clock, rate_limits=NO_LIMITS)
    await sim.start()
    account = sim.add_account(make_account("paper", cash_krw=10_000_000))
    kis = await Kis(sim, account).login()
    sim.market.set_price(SAMSUNG, 71000)
    resting = (await kis.order("buy", SAMSUNG, 1, 70000)).json()["output"]["ODNO"]
    await sim.stop()

    day["now"] += dt.timedelta(days=1)
    again = Simulator(
        accounts=[],
        speed=0,
        real_port=sim.real_port,
        paper_port=sim.paper_port,
        rate_limits=NO_LIMITS,
        market=sim.market,
    )
    await again.start()
    try:
        assert again.paper_url == sim.paper_url
        refused = await kis.price(SAMSUNG)  # the token the old process issued
        assert refused.json()["msg_cd"] == "EGW00121"
        fresh = Kis(again, kis.account)
        await fresh.login()
        assert again.stats.token_issues(kis.account.appkey) == 1
        assert (await fresh.price(SAMSUNG)).status_code == 200

        yesterday = (
            await fresh.daily_ccld(INQR_STRT_DT="20260708", INQR_END_DT="20260708")
        ).json()["output1"]
        [row] = yesterday
        assert row["odno"] == resting and row["ord_dt"] == "20260708"
        assert row["rmn_qty"] == "0" and row["cnc_cfrm_qty"] == "1"  # a day order lapses
        today = (await fresh.daily_ccld(INQR_STRT_DT="20260709", INQR_END_DT="20260709")).json()[
            "output1"
        ]
        assert today == []
        await fresh.aclose()
    finally:
        await kis.aclose()
        await again.stop()
