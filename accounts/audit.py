"""The audit trail's one writer. Other apps call ``record()`` for their own actions."""

from __future__ import annotations

import logging
from typing import Any

from axes.helpers import get_client_ip_address  # type: ignore[import-untyped]  # untyped
from django.contrib.auth.models import AnonymousUser, User
from django.db import models
from django.http import HttpRequest

from accounts.models import AuditEvent
from accounts.printable import one_line

log = logging.getLogger(__name__)


# Detail keys that could only hold something secret are refused outright.
_FORBIDDEN_DETAIL_WORDS = ("secret", "token", "password", "approval", "otp")


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as the sign-in throttle sees it (axes' resolution rules)."""
    address: str | None = get_client_ip_address(request)
    return address or None


def record(
    actor: User | AnonymousUser | None,
    action: str,
    target: models.Model | None = None,
    request: HttpRequest | None = None,
    *,
    ip: str | None = None,
    **detail: Any,
) -> AuditEvent:
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
    member = actor if isinstance(actor, User) and actor.is_authenticated else None
    event = AuditEvent(
        actor=member,
        actor_name=member.get_username() if member else str(detail.get("username", "")),
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
