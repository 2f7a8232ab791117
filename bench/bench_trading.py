"""The order round trip through the ticket view (submit → journaled → KIS → accepted →
redirect) against the simulator, and the portfolio page's server time and database queries
with 5 and 50 holdings.

Everything runs in one process: Django's test client, a fresh SQLite database, and the
simulator on its own thread. KIS's per-second limits (client and simulator) are lifted so
the figures show kisweb's own cost; against KIS the network and its 20/s dominate.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kisweb.settings")
os.environ["KISWEB_VAR_DIR"] = tempfile.mkdtemp(prefix="kisweb-bench-")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.actions import CredentialInput, create_credential, verify_credential  # noqa: E402
from kisweb.kis import RateLimits, shared_rate_limiter  # noqa: E402
from kisweb.kissim import make_account  # noqa: E402
from kisweb.kissim.symbols import KRX_LISTINGS  # noqa: E402
from kisweb.kissim.testing import SimulatorThread  # noqa: E402
from trading.forms import new_idempotency_key  # noqa: E402
from trading.models import Order  # noqa: E402

ORDERS = int(os.environ.get("BENCH_TRADING_ORDERS", "500"))
PAGE_LOADS = 30
# Goals from issue #10 for these 2-core machines.
ROUND_TRIP_P50_S = 0.020
ROUND_TRIP_P99_S = 0.100


def cuts(samples_s: list[float]) -> tuple[float, float]:
    quantiles = statistics.quantiles(samples_s, n=100, method="inclusive")
    return quantiles[49], quantiles[98]


def percentiles(samples_s: list[float]) -> str:
    p50, p99 = cuts(samples_s)
    return f"p50 {p50 * 1e3:.1f} ms  p99 {p99 * 1e3:.1f} ms"


def member(runner: SimulatorThread, name: str, **account_fields: object):
    account = runner.sim.add_account(make_account("paper", **account_fields))
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
    client = Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_HOST="localhost")
    client.force_login(user)
    return client, credential


def order_round_trips(runner: SimulatorThread) -> bool:
    client, credential = member(runner, "orders", cash_krw=10**13)
    runner.sim.market.set_price("005930", 71000)
    samples = []
    for _ in range(ORDERS):
        form = {
            "market": "KRX",
            "venue": "KRX",
            "symbol": "005930",
            "side": "buy",
            "order_type": "00",
            "price": "60000",
            "quantity": "1",
            "idempotency_key": new_idempotency_key(),
        }
        started = time.perf_counter()
        response = client.post("/trading/trade/", form)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 302, response.status_code
    accepted = Order.objects.filter(credential=credential, status="accepted").count()
    received = runner.sim.stats.orders_received(credential.app_key)
    p50, p99 = cuts(samples)
    met = p50 <= ROUND_TRIP_P50_S and p99 <= ROUND_TRIP_P99_S and accepted == received == ORDERS
    print(f"order round trip through the view, {ORDERS} orders: {percentiles(samples)}")
    print(f"  journal accepted {accepted}, simulator received {received}")
    print(f"  goal p50 <= 20 ms, p99 <= 100 ms: {'met' if met else 'MISSED'}")
    return met


def portfolio(runner: SimulatorThread, holdings: int) -> int:
    codes = [code for code, *_ in KRX_LISTINGS[:holdings]]
    client, _ = member(runner, f"holder{holdings}", holdings=dict.fromkeys(codes, 10))
    samples = []
    for _ in range(PAGE_LOADS):
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/trading/portfolio/")
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200
        assert codes[-1] in response.content.decode()
    print(
        f"portfolio, {holdings} holdings: {percentiles(samples)}, "
        f"{len(queries.captured_queries)} queries"
    )
    return len(queries.captured_queries)


def main() -> int:
    call_command("migrate", verbosity=0)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    shared_rate_limiter().limits = RateLimits(real_per_s=1_000_000, paper_per_s=1_000_000)
    limits = {"real": 1_000_000, "paper": 1_000_000}
    with SimulatorThread(accounts=[], speed=0, rate_limits=limits) as runner:
        settings.KISWEB_KIS_ENDPOINTS = {
            "real": {"rest": runner.real_url, "ws": runner.real_ws_url},
            "paper": {"rest": runner.paper_url, "ws": runner.paper_ws_url},
        }
        settings.KISWEB_MARKET_HOURS = "always"
        fast_enough = order_round_trips(runner)
        few, many = portfolio(runner, 5), portfolio(runner, 50)
    flat = few == many
    print(f"portfolio queries do not grow with the holdings: {'met' if flat else 'MISSED'}")
    return 0 if fast_enough and flat else 1


if __name__ == "__main__":
    sys.exit(main())
