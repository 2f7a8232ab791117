"""The task worker's own duties beside running tasks: heartbeat, schedule, recovery.

django-tasks' database worker claims a task by marking it RUNNING with its worker id, and
nothing brings the task back if that worker dies. So every worker beats its id here every
few seconds, and any worker puts a RUNNING task back to READY once the worker that claimed
it has not beaten for ``KISWEB_HEARTBEAT_STALE_S``: a worker killed mid-task (SIGKILL, OOM,
a lost host) has its task run again by another. Our tasks are written to be run again
(trading/tasks.py, accounts/tasks.py).

The schedule enqueues each periodic task once per period across all workers: the slot is
claimed by a conditional UPDATE of its row in the heartbeat table, which only one worker
wins.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from kisweb.ops import heartbeat, metrics
from kisweb.ops.models import Heartbeat
from kisweb.ops.queue import enqueue_once

log = logging.getLogger(__name__)


def schedule() -> list[tuple[str, dt.timedelta]]:
    """(task path, period) for each periodic task."""
    return [
        ("trading.tasks.reconcile_sweep", dt.timedelta(seconds=settings.KISWEB_RECONCILE_EVERY_S)),
        ("accounts.tasks.renew_tokens", dt.timedelta(seconds=settings.KISWEB_TOKEN_RENEW_EVERY_S)),
        ("trading.tasks.refresh_holidays", dt.timedelta(hours=6)),
        ("kisweb.ops.tasks.prune", dt.timedelta(days=1)),
    ]


def claim_slot(key: str, period: dt.timedelta, now: dt.datetime) -> bool:
    """True for exactly one caller per ``period`` and ``key``, whichever process it is in."""
    won = Heartbeat.objects.filter(name="schedule", instance=key, at__lte=now - period).update(
        at=now
    )
    if won:
        return True
    _, created = Heartbeat.objects.get_or_create(
        name="schedule", instance=key, defaults={"at": now}
    )
    return created


def run_schedule(now: dt.datetime | None = None) -> list[str]:
    """Enqueue the periodic tasks that are due; returns their paths."""
    now = now or timezone.now()
    queued = []
    for path, period in schedule():
        if claim_slot(path, period, now) and enqueue_once(import_string(path)):
            queued.append(path)
    return queued


def requeue_orphans(now: dt.datetime | None = None) -> list[str]:
    """Put back to READY the RUNNING tasks whose worker stopped beating. Returns their ids."""
    now = now or timezone.now()
    limit = heartbeat.stale_after()
    alive = heartbeat.alive_instances("worker", now)
    requeued = []
    running = DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING, started_at__lt=now - limit
    )
    for row in running:
        owner = row.worker_ids[-1] if row.worker_ids else ""
        if owner in alive:
            continue
        moved = DBTaskResult.objects.filter(
            pk=row.pk, status=TaskResultStatus.RUNNING, started_at=row.started_at
        ).update(status=TaskResultStatus.READY, started_at=None)
        if moved:
            log.warning("task %s of dead worker %s queued again", row.task_path, owner)
            metrics.TASKS_REQUEUED.labels(task=row.task_path.rsplit(".", 1)[-1]).inc()
            requeued.append(str(row.pk))
    return requeued


class Duties(threading.Thread):
    """The side thread: beat, recover, schedule, every ``tick_s``, until ``stop()``."""

    def __init__(self, worker_id: str, *, scheduling: bool, tick_s: float) -> None:
        super().__init__(name="taskworker-duties", daemon=True)
        self.worker_id = worker_id
        self.scheduling = scheduling
        self.tick_s = tick_s
        self._stopping = threading.Event()

    def once(self) -> None:
        steps: list[Callable[[], object]] = [
            lambda: heartbeat.beat("worker", self.worker_id),
            requeue_orphans,
        ]
        if self.scheduling:
            steps.append(run_schedule)
        for step in steps:
            close_old_connections()
            try:
                step()
            except DatabaseError as error:
                # The database is away (restart, failover): try again next tick.
                log.warning("worker duty failed: %s", type(error).__name__)
                connection.close()

    def run(self) -> None:
        try:
            while not self._stopping.is_set():
                self.once()
                self._stopping.wait(self.tick_s)
        finally:
            connection.close()

    def stop(self) -> None:
        self._stopping.set()
