"""Token renewal ahead of expiry (run by the task worker, `manage.py taskworker`).

KIS access tokens live 24 hours and may be issued once a minute per app key. A token that
ran out mid-session costs the next page or order a fresh issue (or, inside the minute, an
EGW00133 refusal), so the worker renews every stored token ``KISWEB_TOKEN_RENEW_AHEAD_MIN``
before it expires, through the same ``TokenManager`` the pages use: under the Redis issue
lock, loading again first, so a renewal racing a page issues once.

Only tokens still valid, of owners who signed in within ``IDLE_AFTER``, are renewed: KIS
tells the account holder of every issue, and a credential nobody uses should let its token
lapse rather than be renewed every day for ever. The next use issues one on demand.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.utils import timezone
from django_tasks import task

from accounts.kis import open_client
from accounts.models import Credential, KisToken
from accounts.secrets import SecretUnavailable
from kisweb.kis import KisError

log = logging.getLogger(__name__)

IDLE_AFTER = dt.timedelta(days=1)


def _ahead() -> dt.timedelta:
    return dt.timedelta(minutes=settings.KISWEB_TOKEN_RENEW_AHEAD_MIN)


def tokens_to_renew() -> dict[str, set[str]]:
    """Credential id -> the kinds whose stored token expires within the renewal window."""
    due: dict[str, set[str]] = {}
    now = timezone.now()
    rows = KisToken.objects.filter(
        expires_at__gt=now,
        expires_at__lt=now + _ahead(),
        credential__is_enabled=True,
        credential__owner__last_login__gte=now - IDLE_AFTER,
    ).values_list("credential_id", "kind")
    for credential_id, kind in rows:
        due.setdefault(str(credential_id), set()).add(kind)
    return due


async def _renew(credential: Credential, kinds: set[str]) -> None:
    async with open_client(credential, token_renew_before=_ahead(), read_attempts=2) as client:
        if KisToken.Kind.ACCESS in kinds:
            await client.ensure_token()
        if KisToken.Kind.APPROVAL in kinds:
            await client.ensure_approval_key()


@task()
def renew_tokens() -> dict[str, Any]:
    renewed: list[str] = []
    failed: dict[str, str] = {}
    for credential_id, kinds in tokens_to_renew().items():
        credential = Credential.objects.get(pk=credential_id)
        try:
            async_to_sync(_renew)(credential, kinds)
        except KisError as error:
            failed[credential_id] = error.code or type(error).__name__
            log.warning("renewing tokens of credential %s: %s", credential_id, error.code)
        except SecretUnavailable:
            failed[credential_id] = "SECRET"
        else:
            renewed.append(credential_id)
    return {"renewed": renewed, "failed": failed}
