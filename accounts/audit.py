"""The audit trail's one writer. Other apps call ``record()`` for their own actions."""

from __future__ import annotations

import logging

from axes.helpers import get_client_ip_address
from django.db import models

from accounts.models import AuditEvent
from accounts.printable import one_line

log = logging.getLogger(__name__)


# Detail keys that could only hold something secret are refused outright.
_FORBIDDEN_DETAIL_WORDS = ("secret", "token", "password", "approval", "otp")


def client_ip(request) -> str | None:
    """The client's address as the sign-in throttle sees it (axes' resolution rules)."""
    return get_client_ip_address(request) or None


def record(actor, action: str, target=None, request=None, *, ip=None, **detail) -> AuditEvent:
    """Append one event: ``actor`` (a user, or None for an anonymous attempt) did
    ``action`` (an ``AuditEvent.Action`` value or another app's dotted name) to ``target``
    (a model instance, or None). The IP comes from ``request`` or ``ip``. ``detail`` is
    JSON-safe context and must never hold a secret: keys naming one are refused.
    """
    for key in detail:
        if any(word in key.lower() for word in _FORBIDDEN_DETAIL_WORDS):
            raise ValueError(f"audit detail {key!r} looks like a secret; leave it out")
    if request is not None and ip is None:
        ip = client_ip(request)
    authenticated = actor is not None and actor.is_authenticated
    event = AuditEvent(
        actor=actor if authenticated else None,
        actor_name=actor.get_username() if authenticated else str(detail.get("username", "")),
        action=str(action),
        ip_address=ip,
        detail=detail,
    )
    if isinstance(target, models.Model):
        event.target_type = target._meta.label_lower
        event.target_id = str(target.pk)
        event.target_repr = str(target)[:200]
    event.save()
    log.info(
        "audit %s by %s on %s",
        one_line(event.action),
        one_line(event.actor_name) or "-",
        one_line(event.target_repr),
    )
    return event
