"""The only writers of credentials: views, commands and tests all call these.

Actions take typed values, never a request; the client IP for the audit trail is passed
explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from accounts import audit
from accounts.kis import open_client
from accounts.kisloop import process_loop
from accounts.models import AuditEvent, Credential, KisToken
from accounts.secrets import SecretUnavailable
from accounts.texts import SECRET_UNREADABLE, explain_kis_error
from kisweb.kis import KisError, Token

Action = AuditEvent.Action
AnyUser = User | AnonymousUser


class SecondFactorRequired(Exception):
    """Real-money credentials need a second factor in this session
    (``KISWEB_REQUIRE_2FA_FOR_REAL``)."""


class CredentialDisabled(Exception):
    """The credential is switched off; it is neither selected nor used."""


class CredentialHasOrders(Exception):
    """Orders in the journal went out with this credential; the journal is kept whole,
    so the credential stays (it can be disabled)."""


@dataclass(frozen=True)
class CredentialInput:
    """What a person typed into the credential form, cleaned. ``app_secret`` is ``""``
    on edit when the stored one is kept."""

    label: str
    environment: str
    app_key: str
    app_secret: str = field(repr=False)
    account_number: str
    product_code: str
    hts_id: str
    is_enabled: bool = True


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of ``verify_credential`` in plain words."""

    ok: bool
    message: str
    issued: bool = False
    expires_at: datetime | None = None


def ensure_may_use(user: AnyUser, credential: Credential) -> None:
    """Raise unless ``user`` may use ``credential`` now: it must be enabled, and a
    real-money one needs a verified second factor when the site requires it. Other apps
    call this before placing orders."""
    if not credential.is_enabled:
        raise CredentialDisabled
    if credential.is_real and settings.KISWEB_REQUIRE_2FA_FOR_REAL:
        is_verified = getattr(user, "is_verified", None)
        if not (callable(is_verified) and is_verified()):
            raise SecondFactorRequired


def may_use(user: AnyUser, credential: Credential) -> bool:
    """``ensure_may_use`` as a yes or no."""
    try:
        ensure_may_use(user, credential)
    except (CredentialDisabled, SecondFactorRequired):
        return False
    return True


def create_credential(owner: User, data: CredentialInput, *, ip: str | None = None) -> Credential:
    """Store a new credential (secret sealed). The first one a person adds is selected
    when they may use it (``ensure_may_use``)."""
    with transaction.atomic():
        credential = Credential(
            owner=owner,
            label=data.label,
            environment=data.environment,
            app_key=data.app_key,
            account_number=data.account_number,
            product_code=data.product_code,
            hts_id=data.hts_id,
            is_enabled=data.is_enabled,
        )
        credential.set_app_secret(data.app_secret)
        credential.is_selected = may_use(owner, credential) and not (
            Credential.objects.owned_by(owner).filter(is_selected=True).exists()
        )
        credential.save()
        audit.record(
            owner, Action.CREDENTIAL_CREATED, credential, ip=ip, environment=data.environment
        )
    return credential


def update_credential(
    owner: AnyUser,
    credential: Credential,
    data: CredentialInput,
    *,
    ip: str | None = None,
    staff: User | None = None,
) -> list[str]:
    """Apply an edit by the owner, or by ``staff`` in the admin; returns the names of the
    fields that changed. A blank secret keeps the stored one. A new app key or environment
    drops the tokens issued for the old. A disabled credential is no longer selected, and
    after the owner's own edit, nor is one they may no longer use (now real money without
    the second factor): that factor belongs to the owner's session, which a staff edit
    does not have."""
    fields = ("label", "environment", "app_key", "account_number", "product_code", "hts_id")
    changed = [name for name in fields if getattr(credential, name) != getattr(data, name)]
    if credential.is_enabled != data.is_enabled:
        changed.append("is_enabled")
    for name in changed:
        setattr(credential, name, getattr(data, name))
    if data.app_secret:
        credential.set_app_secret(data.app_secret)
        changed.append("app_secret")
    if not changed:
        return []
    in_use = credential.is_enabled if staff is not None else may_use(owner, credential)
    if credential.is_selected and not in_use:
        credential.is_selected = False
    via: dict[str, Any] = {"via": "admin"} if staff is not None else {}
    with transaction.atomic():
        credential.save()
        if {"app_key", "environment"} & set(changed):
            KisToken.objects.filter(credential=credential).delete()
        audit.record(
            staff or owner, Action.CREDENTIAL_CHANGED, credential, ip=ip, fields=changed, **via
        )
    return changed


def delete_credential(owner: AnyUser, credential: Credential, *, ip: str | None = None) -> None:
    """Delete a credential and its tokens; the audit trail keeps its label. Raises
    ``CredentialHasOrders`` (and changes nothing) when the order journal names it."""
    try:
        with transaction.atomic():
            audit.record(owner, Action.CREDENTIAL_DELETED, credential, ip=ip)
            credential.delete()
    except ProtectedError:
        raise CredentialHasOrders from None


def select_credential(user: AnyUser, credential: Credential, *, ip: str | None = None) -> None:
    """Make ``credential`` the one the top bar shows. A change between paper and real
    money is recorded as an environment switch."""
    ensure_may_use(user, credential)
    with transaction.atomic():
        previous = (
            Credential.objects.owned_by(user).select_for_update().filter(is_selected=True).first()
        )
        if previous is not None and previous.pk == credential.pk:
            return
        Credential.objects.owned_by(user).filter(is_selected=True).update(is_selected=False)
        Credential.objects.filter(pk=credential.pk).update(is_selected=True)
        credential.is_selected = True
        if previous is not None and previous.environment != credential.environment:
            audit.record(
                user,
                Action.ENVIRONMENT_SWITCHED,
                credential,
                ip=ip,
                environment_from=previous.environment,
                environment_to=credential.environment,
            )
        else:
            audit.record(user, Action.CREDENTIAL_SELECTED, credential, ip=ip)


def verify_credential(
    user: AnyUser, credential: Credential, *, ip: str | None = None
) -> VerifyResult:
    """Ask KIS for an access token with this credential (or reuse the stored one) and say
    what happened in plain words. Raises ``SecondFactorRequired``/``CredentialDisabled``
    from ``ensure_may_use``; every KIS answer becomes a ``VerifyResult``."""
    ensure_may_use(user, credential)
    stored = KisToken.objects.filter(credential=credential, kind=KisToken.Kind.ACCESS).first()
    try:
        token = process_loop.run(lambda: _ensure_token(credential))
    except SecretUnavailable:
        result = VerifyResult(ok=False, message=str(SECRET_UNREADABLE))
    except KisError as error:
        result = VerifyResult(ok=False, message=explain_kis_error(error, credential))
    else:
        issued = stored is None or stored.issued_at != token.issued_at
        expires = formats.date_format(timezone.localtime(token.expires_at), "DATETIME_FORMAT")
        if issued:
            message = _(
                "KIS accepted this credential and issued an access token valid until %(expires)s."
            )
        else:
            message = _(
                "KIS accepted this credential. The stored access token is valid until "
                "%(expires)s, so no new token was issued."
            )
        result = VerifyResult(
            ok=True,
            message=message % {"expires": expires},
            issued=issued,
            expires_at=token.expires_at,
        )
    if result.ok:
        credential.verified_at = timezone.now()
        credential.save(update_fields=["verified_at"])
        audit.record(user, Action.CREDENTIAL_VERIFIED, credential, ip=ip, issued=result.issued)
    else:
        audit.record(user, Action.CREDENTIAL_VERIFY_FAILED, credential, ip=ip)
    return result


async def _ensure_token(credential: Credential) -> Token:
    # A client of its own, not a pooled one: the answer must come from the database and
    # KIS, not from a token a pooled client holds. Two attempts: a host that is down is
    # reported within a second, not after retries.
    async with open_client(credential, read_attempts=2, timeout_s=10.0) as client:
        return await client.ensure_token()


def sign_up(username: str, email: str, password: str, *, ip: str | None = None) -> User:
    """Open sign-up (``KISWEB_SIGNUP_OPEN``): a new ordinary user."""
    with transaction.atomic():
        user = get_user_model().objects.create_user(
            username=username, email=email, password=password
        )
        audit.record(user, Action.SIGNED_UP, user, ip=ip)
    return user


@dataclass
class RotationReport:
    """What ``rotate_encryption_keys`` did: rows re-sealed, rows already under the
    primary key, and the (model, id) of rows whose secret could not be opened."""

    resealed: int = 0
    current: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


def rotate_encryption_keys() -> RotationReport:
    """Re-seal every stored secret under the primary key. Rows already under it are left
    untouched, so running it again changes nothing. A row no configured key opens is
    reported and left as it is."""
    report = RotationReport()
    for model, field_name in ((Credential, "app_secret_enc"), (KisToken, "value_enc")):
        for row in model.objects.order_by("pk").iterator():
            try:
                with transaction.atomic():
                    if row.reseal():
                        row.save(update_fields=[field_name])
                        report.resealed += 1
                    else:
                        report.current += 1
            except SecretUnavailable:
                report.failed.append((model._meta.label, str(row.pk)))
    return report
