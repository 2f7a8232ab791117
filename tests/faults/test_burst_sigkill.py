"""The server process killed with SIGKILL in the middle of a burst of orders from many users,
then restarted: zero lost, zero doubled, counted at the simulator.

kisweb runs in real child processes (``manage.py shell -c``, as in tests/trading/test_crash.py)
on one database: a fresh SQLite file, or, when the suite runs on PostgreSQL, a fresh database
beside the suite's own (``<name>_burst``, dropped afterwards). The first places the burst
from one thread per user, as a web server's worker threads would, and is killed once the
simulator has booked a third of it. The restart reconciles every credential, then the
people post their tickets again with the same idempotency keys (a browser resubmitting
after the outage): what was journaled is not sent again, and what never was is sent now.
Fast: 40 orders from 8 users; ``KISWEB_SOAK``: 200 from 20.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from kisweb.kissim import make_account
from tests.figures import record
from tests.helpers import ROOT

from .conftest import SOAK

USERS, ORDERS = (20, 200) if SOAK else (8, 40)

SETUP = """
import json, os
from django.contrib.auth.models import User
from accounts.actions import CredentialInput, create_credential, verify_credential
for number, account in enumerate(json.loads(os.environ["T_ACCOUNTS"])):
    user = User.objects.create_user(f"burst{number}", password="burst-pass-1")
    credential = create_credential(user, CredentialInput(label="burst", environment="paper",
        app_key=account["key"], app_secret=account["secret"], account_number=account["cano"],
        product_code=account["product"], hts_id=account["hts"]))
    assert verify_credential(user, credential).ok
print("ready", flush=True)
"""

# One thread per user, each placing its share in turn; the keys are fixed per order so the
# burst can be posted again after the restart.
BURST = """
import os, threading
from decimal import Decimal
from django.db import connection
from accounts.models import Credential
from trading.actions import Ticket, place_order
per_user = int(os.environ["T_PER_USER"])
def trade(credential):
    for number in range(per_user):
        ticket = Ticket(market="KRX", venue="KRX", side="buy", order_type="00", symbol="005930",
            quantity=1, price=Decimal(70000 - 100 * number),
            idempotency_key=f"burst-{credential.pk}-{number}")
        placed = place_order(credential.owner, credential, ticket)
        print("placed", placed.created, placed.order.status, flush=True)
    connection.close()
threads = [threading.Thread(target=trade, args=(c,)) for c in Credential.objects.all()]
for thread in threads: thread.start()
for thread in threads: thread.join()
print("burst done", flush=True)
"""

RECONCILE = """
import datetime as dt, json
from django.utils import timezone
from accounts.models import Credential
from trading.actions import reconcile
from trading.models import Order
statuses = lambda: sorted(Order.objects.values_list("status", flat=True))
before = statuses()
for credential in Credential.objects.all():
    result = reconcile(credential, now=timezone.now() + dt.timedelta(minutes=3))
    assert result.complete and result.error is None, result.error
rows = list(Order.objects.values("credential__app_key", "idempotency_key", "status",
                                 "kis_order_no", "reject_code"))
print(json.dumps({"before": before, "rows": rows}), flush=True)
"""


@pytest.fixture
def child_database(settings):
    """The children's ``DATABASE_URL``: none (SQLite in their var directory), or a fresh
    PostgreSQL database when the suite runs on PostgreSQL."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        yield None
        return
    import psycopg

    name = f"{database['NAME']}_burst"
    where = {
        "host": database["HOST"] or "127.0.0.1",
        "port": int(database["PORT"] or 5432),
        "user": database["USER"],
        "password": database["PASSWORD"] or None,
    }

    def run(statement: str) -> None:
        with psycopg.connect(**where, dbname="postgres", autocommit=True) as admin:
            admin.execute(statement)

    run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    run(f'CREATE DATABASE "{name}"')
    password = f":{where['password']}" if where["password"] else ""
    yield f"postgres://{where['user']}{password}@{where['host']}:{where['port']}/{name}"
    run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def burst_env(sim, tmp_path, child_database):
    accounts = [sim.add_account(make_account("paper")) for _ in range(USERS)]
    sim.market.set_price("005930", 71000)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "KISWEB_", "DATABASE_URL", "REDIS_URL"))
    }
    env.update(
        KISWEB_MODE="demo",
        KISWEB_VAR_DIR=str(tmp_path),
        KISWEB_KIS_PAPER_REST_URL=sim.paper_url,
        KISWEB_KIS_PAPER_WS_URL=sim.paper_ws_url,
        KISWEB_KIS_REAL_REST_URL=sim.real_url,
        KISWEB_KIS_REAL_WS_URL=sim.real_ws_url,
        T_PER_USER=str(ORDERS // USERS),
        T_ACCOUNTS=json.dumps(
            [
                {
                    "key": a.appkey,
                    "secret": a.appsecret,
                    "cano": a.cano,
                    "product": a.acnt_prdt_cd,
                    "hts": a.hts_id,
                }
                for a in accounts
            ]
        ),
    )
    if child_database:
        env["DATABASE_URL"] = child_database
    manage(env, "migrate", "--noinput", "-v0")
    assert "ready" in manage(env, "shell", "-c", SETUP)
    return env, accounts


def manage(env: dict[str, str], *args: str, timeout_s: float = 120) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def booked(sim, accounts) -> int:
    return sum(sim.stats.orders_received(a.appkey) for a in accounts)


def kill_mid_burst(env: dict[str, str], sim, accounts) -> float:
    """Start the burst and SIGKILL its process once a third of it is booked; returns when."""
    child = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", BURST],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while booked(sim, accounts) < ORDERS // 3:
            assert child.poll() is None, "the burst ended before it could be killed"
            assert time.monotonic() < deadline, "the burst never got a third of the way"
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return killed_at


def kis_numbers(sim, accounts) -> set[tuple[str, str]]:
    return {
        (a.appkey, odno.lstrip("0"))
        for a in accounts
        for odno in sim.market.ledgers[a.appkey].orders
    }


def journal_numbers(rows) -> list[tuple[str, str]]:
    return [
        (r["credential__app_key"], r["kis_order_no"].lstrip("0")) for r in rows if r["kis_order_no"]
    ]


def test_sigkill_mid_burst_then_restart_loses_nothing_and_doubles_nothing(sim, burst_env):
    env, accounts = burst_env
    killed_at = kill_mid_burst(env, sim, accounts)
    at_kill = booked(sim, accounts)
    assert 0 < at_kill < ORDERS

    first = json.loads(manage(env, "shell", "-c", RECONCILE).strip().splitlines()[-1])
    recovered_s = time.monotonic() - killed_at
    rows = first["rows"]
    assert booked(sim, accounts) == at_kill  # reconciling sent nothing
    numbers = journal_numbers(rows)
    assert len(numbers) == len(set(numbers))  # no KIS order twice in the journal
    assert set(numbers) == kis_numbers(sim, accounts)  # every booked order journaled once
    statuses = {r["status"] for r in rows}
    assert statuses <= {"accepted", "rejected"}  # nothing left unknown or pending
    assert all(r["reject_code"] == "NOT_RECEIVED" for r in rows if r["status"] == "rejected")
    unsettled_before = sum(s in ("pending_send", "unknown") for s in first["before"])

    # The people post the same tickets again after the restart.
    manage(env, "shell", "-c", BURST)
    final = json.loads(manage(env, "shell", "-c", RECONCILE).strip().splitlines()[-1])["rows"]
    numbers = journal_numbers(final)
    assert len(final) == ORDERS  # each ticket journaled exactly once
    assert len({(r["credential__app_key"], r["idempotency_key"]) for r in final}) == ORDERS
    assert len(numbers) == len(set(numbers)) == booked(sim, accounts)
    assert set(numbers) == kis_numbers(sim, accounts)
    not_received = sum(r["status"] == "rejected" for r in final)
    assert booked(sim, accounts) + not_received == ORDERS
    record("faults", "SIGKILL mid-burst: users / orders in the burst", f"{USERS} / {ORDERS}")
    record("faults", "SIGKILL mid-burst: booked at the simulator when killed", at_kill)
    record("faults", "SIGKILL mid-burst: journaled when killed", len(rows))
    record(
        "faults",
        "SIGKILL mid-burst: pending or unknown before / after reconcile",
        f"{unsettled_before} / 0",
    )
    record(
        "faults",
        "SIGKILL mid-burst: time from the kill to a reconciled journal",
        round(recovered_s, 2),
        "s",
    )
    record(
        "faults",
        "SIGKILL mid-burst: orders journaled vs seen by the simulator after the resubmit",
        f"{len(numbers)} / {booked(sim, accounts)}",
        note=f"{not_received} journaled but never received, rejected NOT_RECEIVED",
    )
