"""`manage.py taskworker`: django-tasks' database worker plus kisweb's worker duties.

Runs the queued tasks one at a time (start several for more), beats its heartbeat, puts
back the tasks of workers that died, and enqueues the periodic tasks (kisweb/ops/worker.py).
SIGTERM or Ctrl-C finishes the current task and stops.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from kisweb.ops import heartbeat
from kisweb.ops.worker import Duties


class Command(BaseCommand):
    help = "Run background tasks: reconciliation, token renewal (kisweb/ops/worker.py)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--queue-name", default="default")
        parser.add_argument("--interval", type=float, default=1.0, help="idle poll, seconds")
        parser.add_argument("--worker-id", default="")
        parser.add_argument(
            "--no-schedule", action="store_false", dest="scheduling", help="run tasks only"
        )

    def handle(
        self,
        *args: Any,
        queue_name: str,
        interval: float,
        worker_id: str,
        scheduling: bool,
        **options: Any,
    ) -> None:
        worker_id = worker_id or get_random_string(24)
        tick_s = max(0.5, min(5.0, settings.KISWEB_HEARTBEAT_STALE_S / 4))
        heartbeat.beat("worker", worker_id)
        duties = Duties(worker_id, scheduling=scheduling, tick_s=tick_s)
        duties.start()
        worker = Worker(
            queue_names=queue_name.split(","),
            interval=interval,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=worker_id,
            excluded_queue_names=[],
        )
        worker.configure_signals()
        self.stdout.write(f"taskworker {worker_id} started", ending="\n")
        self.stdout.flush()
        try:
            worker.run()
        finally:
            duties.stop()
