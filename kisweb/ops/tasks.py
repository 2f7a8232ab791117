"""Housekeeping: the task queue and the heartbeat table do not grow without bound.

The schedule enqueues a reconciliation sweep every 30 s, so finished results pile up by the
thousand a day. ``prune`` (daily) deletes successful results older than a week, failed ones
older than a month (kept longer: someone may be reading why), and the heartbeats of
workers gone for a day. Running it twice deletes nothing more.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django_tasks import task
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from kisweb.ops.models import Heartbeat

KEEP_SUCCESSFUL = dt.timedelta(days=7)
KEEP_FAILED = dt.timedelta(days=30)
KEEP_HEARTBEAT = dt.timedelta(days=1)


@task()
def prune() -> dict[str, Any]:
    now = timezone.now()
    successful, _ = DBTaskResult.objects.filter(
        status=TaskResultStatus.SUCCESSFUL, finished_at__lt=now - KEEP_SUCCESSFUL
    ).delete()
    failed, _ = DBTaskResult.objects.filter(
        status=TaskResultStatus.FAILED, finished_at__lt=now - KEEP_FAILED
    ).delete()
    workers, _ = Heartbeat.objects.filter(name="worker", at__lt=now - KEEP_HEARTBEAT).delete()
    return {"successful": successful, "failed": failed, "heartbeats": workers}
