"""`beat("relay")` / `await abeat("relay")`: the process named is alive now.

The relay and the task worker call it every few seconds; `/readyz` reads the newest beat
per name and calls a part down when it is older than ``KISWEB_HEARTBEAT_STALE_S``. A beat
that cannot be written (database away) is logged and dropped: the caller keeps running.
"""

from __future__ import annotations

import datetime as dt
import logging
import os

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from kisweb.ops.models import Heartbeat

log = logging.getLogger(__name__)


def beat(name: str, instance: str = "") -> bool:
    """Record that ``name`` (one ``instance`` of it) is alive; False when not written."""
    try:
        Heartbeat.objects.update_or_create(
            name=name, instance=instance, defaults={"at": timezone.now(), "pid": os.getpid()}
        )
    except DatabaseError as error:
        log.warning("heartbeat %s not written: %s", name, type(error).__name__)
        return False
    return True


async def abeat(name: str, instance: str = "") -> bool:
    return await sync_to_async(beat)(name, instance)


def last(name: str) -> dt.datetime | None:
    """The newest beat of any instance of ``name``."""
    row = Heartbeat.objects.filter(name=name).order_by("-at").values_list("at", flat=True)
    return row.first()


def stale_after() -> dt.timedelta:
    return dt.timedelta(seconds=settings.KISWEB_HEARTBEAT_STALE_S)


def alive_instances(name: str, now: dt.datetime | None = None) -> set[str]:
    """Instances of ``name`` that beat within the stale limit."""
    since = (now or timezone.now()) - stale_after()
    return set(
        Heartbeat.objects.filter(name=name, at__gte=since).values_list("instance", flat=True)
    )
