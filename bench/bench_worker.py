"""The task worker on PostgreSQL: throughput, enqueue-to-finish latency, recovery time.

One real `manage.py taskworker` process drains ``TASKS`` queued tasks (token renewal with
nothing due: one query each, so the figure is the queue's own cost), then a task left
RUNNING by a worker that died at t=0 (claimed by an id that never beats) is timed until
the live worker has run it again. Prints p50/p95/p99 latency, tasks/s, the worker's
resident memory, and the recovery time against ``KISWEB_HEARTBEAT_STALE_S``.

Targets: every task done once (none lost, none twice), and the orphan done within the
stale limit plus two duty ticks plus a second.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

DB_NAME = "kisweb_bench_worker"
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
TASKS = int(os.environ.get("BENCH_WORKER_TASKS", "300"))
STALE_S = int(os.environ.get("BENCH_WORKER_STALE_S", "6"))

os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "kisweb.settings",
        "KISWEB_MODE": "demo",
        "KISWEB_VAR_DIR": tempfile.mkdtemp(prefix="kisweb-bench-"),
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "KISWEB_HEARTBEAT_STALE_S": str(STALE_S),
        "KISWEB_LOG_LEVEL": "WARNING",
        # As docs/hosting/kisweb.env.example sets it: with 0 every poll opens a new
        # PostgreSQL connection and one worker ran 11 tasks/s here instead of 59.
        "DATABASE_CONN_MAX_AGE": os.environ.get("DATABASE_CONN_MAX_AGE", "60"),
    }
)
os.environ.pop("REDIS_URL", None)


def fresh_database() -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


fresh_database()

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tasks_db.compat import TaskResultStatus  # noqa: E402
from django_tasks_db.models import DBTaskResult  # noqa: E402

from accounts.tasks import renew_tokens  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait(condition, deadline_s: float) -> bool:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def main() -> int:
    call_command("migrate", verbosity=0)
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "taskworker", "--no-schedule", "--interval", "0.05"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    failed = False
    try:
        time.sleep(2.0)  # started and idle
        started = time.monotonic()
        ids = [renew_tokens.enqueue().id for _ in range(TASKS)]
        enqueued_s = time.monotonic() - started
        done = wait(
            lambda: (
                DBTaskResult.objects.filter(status=TaskResultStatus.SUCCESSFUL).count() >= TASKS
            ),
            120,
        )
        drained_s = time.monotonic() - started
        rows = DBTaskResult.objects.filter(pk__in=ids)
        latencies = [
            (row.finished_at - row.enqueued_at).total_seconds()
            for row in rows
            if row.finished_at is not None
        ]
        runs = sum(len(row.worker_ids) for row in rows)
        print(f"tasks: {TASKS} enqueued in {enqueued_s:.2f} s, drained in {drained_s:.2f} s")
        print(f"throughput: {TASKS / drained_s:.0f} tasks/s (one worker process)")
        if latencies:
            print(
                "enqueue-to-finish latency: "
                f"p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
                f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms, "
                f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms"
            )
        print(f"worker memory: {rss_mb(worker.pid):.0f} MB resident")
        if not done or len(latencies) != TASKS or runs != TASKS:
            print(f"MISSED: {len(latencies)} of {TASKS} done, {runs} runs")
            failed = True

        orphan = DBTaskResult.objects.get(pk=renew_tokens.enqueue().id)
        orphan.claim("ghost-worker")  # a worker that died right after claiming it
        died = time.monotonic()
        DBTaskResult.objects.filter(pk=orphan.pk).update(started_at=timezone.now())
        recovered = wait(
            lambda: DBTaskResult.objects.get(pk=orphan.pk).status == TaskResultStatus.SUCCESSFUL,
            STALE_S * 3 + 10,
        )
        recovery_s = time.monotonic() - died
        tick_s = max(0.5, min(5.0, STALE_S / 4))
        limit_s = STALE_S + 2 * tick_s + 1
        print(
            f"recovery: a dead worker's task done again after {recovery_s:.1f} s "
            f"(KISWEB_HEARTBEAT_STALE_S={STALE_S}, duty tick {tick_s:.1f} s, "
            f"target <= {limit_s:.1f} s)"
        )
        if not recovered or recovery_s > limit_s:
            print("MISSED: recovery")
            failed = True
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        from django.db import connections

        connections.close_all()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
