"""The sender killed with SIGKILL mid-order, in real processes against the simulator.

Each test runs kisweb's own ``manage.py shell -c`` in child processes sharing one SQLite
file (a fresh var directory): one sets up a verified paper credential, one places an order
and is killed at a pause point (``trading.actions.PAUSE_ENV``), and a third — the restart —
reads the journal and reconciles it. The simulator (this process, on loopback) counts what
it received, so "nothing lost, nothing doubled" is counted at KIS's side.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from kisweb.kissim import make_account
from tests.helpers import ROOT, wait_for_line
from trading.actions import PAUSE_ENV

SETUP = """
import os
from django.contrib.auth.models import User
from accounts.actions import CredentialInput, create_credential, verify_credential
user = User.objects.create_user("crash", password="crash-pass-1")
credential = create_credential(user, CredentialInput(
    label="crash", environment="paper", app_key=os.environ["T_KEY"],
    app_secret=os.environ["T_SECRET"], account_number=os.environ["T_CANO"],
    product_code=os.environ["T_PRODUCT"], hts_id=os.environ["T_HTS"]))
assert verify_credential(user, credential).ok
print("ready", flush=True)
"""

PLACE = """
from decimal import Decimal
from accounts.models import Credential
from trading.actions import Ticket, place_order
credential = Credential.objects.get()
ticket = Ticket(market="KRX", venue="KRX", side="buy", order_type="00", symbol="005930",
                quantity=2, price=Decimal(70000), idempotency_key="c" * 32)
placed = place_order(credential.owner, credential, ticket)
print("finished", placed.order.status, flush=True)
"""

RESTART = """
import datetime as dt, json
from django.utils import timezone
from accounts.models import Credential
from trading.actions import reconcile
from trading.models import Order
credential = Credential.objects.get()
before = list(Order.objects.values_list("status", flat=True))
# Past the stale-sender and not-received windows, as a later page load would be.
result = reconcile(credential, now=timezone.now() + dt.timedelta(minutes=3))
after = list(Order.objects.values("status", "kis_order_no", "reject_code", "filled_quantity"))
print(json.dumps({"before": before, "after": after, "complete": result.complete}), flush=True)
"""


@pytest.fixture
def crash_env(sim, tmp_path):
    """A child process's environment: its own var directory, KIS at the simulator."""
    account = sim.add_account(make_account("paper"))
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
        T_KEY=account.appkey,
        T_SECRET=account.appsecret,
        T_CANO=account.cano,
        T_PRODUCT=account.acnt_prdt_cd,
        T_HTS=account.hts_id,
    )
    manage(env, "migrate", "--noinput", "-v0")
    assert "ready" in manage(env, "shell", "-c", SETUP)
    return env, account


def manage(env: dict[str, str], *args: str, timeout_s: float = 90) -> str:
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


def kill_at(env: dict[str, str], point: str) -> None:
    """Place one order in a child process and SIGKILL it at ``point``."""
    child = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", PLACE],
        cwd=ROOT,
        env={**env, PAUSE_ENV: point},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_line(child, rf"kisweb-pause {point} [0-9A-F]{{12}}", deadline_s=60)
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        assert child.stdout is not None
        child.stdout.close()


def restart(env: dict[str, str]) -> dict:
    lines = manage(env, "shell", "-c", RESTART).strip().splitlines()
    return json.loads(lines[-1])


def test_killed_between_the_journal_and_the_kis_call(sim, crash_env):
    env, account = crash_env
    kill_at(env, "journaled")
    assert sim.stats.orders_received(account.appkey) == 0
    found = restart(env)
    assert found["before"] == ["pending_send"]  # the row survived the kill, nothing sent
    [order] = found["after"]
    # KIS's complete list has no such order: it was never received, and it is not resent.
    assert order["status"] == "rejected" and order["reject_code"] == "NOT_RECEIVED"
    assert found["complete"] is True
    assert sim.stats.orders_received(account.appkey) == 0
    known_to_kis = [o for o in found["after"] if o["kis_order_no"]]
    assert len(known_to_kis) == sim.stats.orders_received(account.appkey)


def test_killed_just_after_the_send(sim, crash_env):
    env, account = crash_env
    kill_at(env, "sent")
    assert sim.stats.orders_received(account.appkey) == 1  # KIS has it; the journal not yet
    found = restart(env)
    assert found["before"] == ["pending_send"]
    [order] = found["after"]
    assert order["status"] == "accepted" and order["kis_order_no"]  # found in KIS's list
    assert order["filled_quantity"] == 0  # bid below the market: still open
    assert sim.stats.orders_received(account.appkey) == 1  # reconciling sent nothing
    known_to_kis = [o for o in found["after"] if o["kis_order_no"]]
    assert len(known_to_kis) == sim.stats.orders_received(account.appkey)


def test_a_second_restart_changes_nothing_and_sends_nothing(sim, crash_env):
    env, account = crash_env
    kill_at(env, "sent")
    first = restart(env)
    second = restart(env)
    assert second["before"] == ["accepted"]
    assert second["after"] == first["after"]
    assert sim.stats.orders_received(account.appkey) == 1
