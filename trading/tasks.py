"""Background reconciliation (run by the task worker, `manage.py taskworker`).

``reconcile_sweep`` (every ``KISWEB_RECONCILE_EVERY_S``) finds the credentials with orders
whose outcome is unknown or whose send went quiet, and queues one ``reconcile_credential``
each. Reconciliation only reads KIS's executions and settles rows with conditional
updates, so running it twice (a worker killed mid-task runs it again) changes nothing the
second time, and it never sends an order (``trading.actions.reconcile``).
``refresh_holidays`` (every 6 h) keeps the KRX calendar table current without waiting for a
real-money user to open the ticket.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from accounts.models import Credential
from accounts.secrets import SecretUnavailable
from kisweb.kis import KisError
from kisweb.ops.queue import enqueue_once
from trading import actions, calendar
from trading.models import Order

log = logging.getLogger(__name__)

Status = Order.Status


def credentials_to_reconcile() -> list[str]:
    stale = timezone.now() - actions.PENDING_STALE_AFTER
    rows = Order.objects.filter(
        Q(status=Status.UNKNOWN) | Q(status=Status.PENDING_SEND, created_at__lt=stale),
        credential__is_enabled=True,
    )
    return sorted({str(pk) for pk in rows.values_list("credential_id", flat=True)})


@task()
def reconcile_sweep() -> dict[str, Any]:
    queued = [pk for pk in credentials_to_reconcile() if enqueue_once(reconcile_credential, pk)]
    return {"queued": queued}


@task()
def reconcile_credential(credential_id: str) -> dict[str, Any]:
    credential = Credential.objects.filter(pk=credential_id, is_enabled=True).first()
    if credential is None:
        return {"checked": 0, "changed": 0, "skipped": "gone or disabled"}
    result = actions.reconcile(credential)
    if result.error is not None:
        # KIS did not answer: the orders stay as they are and the next sweep tries again.
        log.warning("reconciling credential %s: KIS answered %s", credential_id, result.error.code)
    return {
        "checked": result.checked,
        "changed": len(result.changed),
        "complete": result.complete,
        "error": result.error.code if result.error is not None else "",
    }


@task()
def refresh_holidays() -> dict[str, Any]:
    """The KRX calendar (chk-holiday) for the whole site, every six hours, asked with the real
    credential KIS verified most recently (paper keys cannot ask; the weekday rule and the
    stored table answer until one can)."""
    credential = (
        Credential.objects.enabled()
        .filter(environment=Credential.Environment.REAL)
        .exclude(verified_at=None)
        .order_by("-verified_at")
        .first()
    )
    if credential is None:
        return {"refreshed": 0, "skipped": "no verified real credential"}
    try:
        return {"refreshed": calendar.refresh(credential)}
    except (KisError, SecretUnavailable) as failure:
        log.warning("holiday refresh: KIS answered %s", type(failure).__name__)
        return {"refreshed": 0, "error": getattr(failure, "code", type(failure).__name__)}
