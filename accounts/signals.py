"""Sign-in, sign-out and failed sign-ins go to the audit trail."""

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from accounts import audit
from accounts.models import AuditEvent


@receiver(user_logged_in, dispatch_uid="accounts.audit_signed_in")
def signed_in(sender: type, request: HttpRequest, user: User, **kwargs: Any) -> None:
    audit.record(user, AuditEvent.Action.SIGNED_IN, request=request)


@receiver(user_logged_out, dispatch_uid="accounts.audit_signed_out")
def signed_out(
    sender: type, request: HttpRequest, user: User | AnonymousUser | None, **kwargs: Any
) -> None:
    if user is not None:
        audit.record(user, AuditEvent.Action.SIGNED_OUT, request=request)


@receiver(user_login_failed, dispatch_uid="accounts.audit_sign_in_failed")
def sign_in_failed(
    sender: str,
    credentials: dict[str, Any],
    request: HttpRequest | None = None,
    **kwargs: Any,
) -> None:
    # `credentials` is already cleansed by Django; only the user name is kept.
    username = str(credentials.get("username", ""))[:150]
    audit.record(None, AuditEvent.Action.SIGN_IN_FAILED, request=request, username=username)
