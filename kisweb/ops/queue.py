"""Small helpers over django-tasks' database backend that the task modules share."""

from __future__ import annotations

from typing import Any

from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult


def enqueue_once(task: Any, *args: Any) -> bool:
    """Enqueue ``task(*args)`` unless the same call is already waiting or running: a sweep
    that finds the same credential twice queues one reconciliation. False when skipped."""
    waiting = DBTaskResult.objects.filter(
        task_path=task.module_path,
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
        args_kwargs={"args": list(args), "kwargs": {}},
    ).exists()
    if waiting:
        return False
    task.enqueue(*args)
    return True
