"""A real `manage.py taskworker` process on PostgreSQL: killed with SIGKILL in the middle of
a reconciliation, its task is run again by the next worker and its effect happens once. A
reconciliation never sends an order: counted at the simulator."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tests.helpers import ROOT
from trading import tasks as trading_tasks
from trading.models import Order

from .conftest import lost_order

pytestmark = pytest.mark.hosted


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _env(sim) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": _database_url(),  # pytest-django's test database
        "KISWEB_KIS_PAPER_REST_URL": sim.paper_url,
        "KISWEB_KIS_PAPER_WS_URL": sim.paper_ws_url,
        "KISWEB_KIS_REAL_REST_URL": sim.real_url,
        "KISWEB_KIS_REAL_WS_URL": sim.real_ws_url,
        "KISWEB_HEARTBEAT_STALE_S": "3",
        "PYTHONUNBUFFERED": "1",
    }


def _worker(env, worker_id: str, *, schedule: bool = False) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *(sys.executable, "manage.py", "taskworker", "--worker-id", worker_id),
            *(() if schedule else ("--no-schedule",)),
            *("--interval", "0.2"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(condition, what: str, deadline_s: float, process=None):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if value := condition():
            return value
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the worker exited while waiting for {what}")
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _row(task_id) -> DBTaskResult:
    return DBTaskResult.objects.get(pk=task_id)


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_reconcile_is_replaced_and_the_effect_happens_once(
    sim, alice, credential
):
    order = lost_order(sim, alice, credential)
    env = _env(sim)
    task_id = trading_tasks.reconcile_credential.enqueue(str(credential.pk)).id
    sim.faults.hang = True  # KIS takes the executions inquiry and never answers

    first = _worker(env, "first")
    try:
        _wait_for(
            lambda: _row(task_id).status == TaskResultStatus.RUNNING,
            "the first worker to claim the task",
            60,
            first,
        )
        time.sleep(1.0)  # inside the inquiry, which hangs
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate(timeout=10)
    order.refresh_from_db()
    assert order.status == "unknown"
    assert _row(task_id).status == TaskResultStatus.RUNNING  # left behind by the dead worker

    sim.faults.hang = False
    second = _worker(env, "second")
    try:
        _wait_for(
            lambda: _row(task_id).status == TaskResultStatus.SUCCESSFUL,
            "the second worker to run the task again",
            60,
            second,
        )
    finally:
        second.send_signal(signal.SIGTERM)
        output, _ = second.communicate(timeout=30)
    row = _row(task_id)
    assert row.worker_ids == ["first", "second"], output
    assert row.return_value["changed"] == 1
    order.refresh_from_db()
    assert order.status == "filled"
    # The one order is the one placed before the worker ran: nothing was sent since.
    assert sim.stats.orders_received(credential.app_key) == 1
    assert second.returncode == 0, output
    # Hosted logs are JSON, one object per line; the recovery is logged.
    lines = [line for line in output.splitlines() if line and not line.startswith("taskworker ")]
    records = [json.loads(line) for line in lines]
    assert any("of dead worker first queued again" in r["message"] for r in records), output
    assert credential.reveal_app_secret() not in output


@pytest.mark.django_db(transaction=True)
def test_the_scheduled_sweep_settles_a_lost_order_by_itself(sim, alice, credential):
    order = lost_order(sim, alice, credential)
    env = {**_env(sim), "KISWEB_RECONCILE_EVERY_S": "1"}
    process = _worker(env, "scheduled", schedule=True)
    try:
        _wait_for(
            lambda: Order.objects.get(pk=order.pk).status == "filled",
            "the sweep to reconcile the unknown order",
            60,
            process,
        )
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert sim.stats.orders_received(credential.app_key) == 1
    swept = DBTaskResult.objects.filter(task_path="trading.tasks.reconcile_sweep")
    assert swept.filter(status=TaskResultStatus.SUCCESSFUL).exists(), output
