"""People's KIS credentials, the tokens issued for them, and the audit trail.

Secrets (app secret, access token, approval key) are stored sealed (``accounts.secrets``)
in ``editable=False`` columns behind ``set_…``/``reveal_…`` methods, so no form, admin page,
template or ``repr()`` meets plaintext.
"""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import secrets


class CredentialQuerySet(models.QuerySet["Credential"]):
    def owned_by(self, user: User | AnonymousUser) -> CredentialQuerySet:
        """Every query that touches credentials starts here."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(owner=user)

    def enabled(self) -> CredentialQuerySet:
        return self.filter(is_enabled=True)


class Credential(models.Model):
    """One KIS app key pair with its account, registered by one user.

    The app key identifies the pair (tokens and rate limits are per app key), so it is kept
    in the clear but shown masked; the app secret is sealed and never shown.
    """

    class Environment(models.TextChoices):
        PAPER = "paper", _("Paper trading (모의투자)")
        REAL = "real", _("Real money (실전투자)")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="kis_credentials",
        verbose_name=_("owner"),
    )
    label = models.CharField(_("label"), max_length=60)
    environment = models.CharField(
        _("environment"), max_length=8, choices=Environment.choices, default=Environment.PAPER
    )
    app_key = models.CharField(_("app key"), max_length=64)
    app_secret_enc = models.TextField(_("app secret (sealed)"), editable=False)
    account_number = models.CharField(_("account number"), max_length=8)
    product_code = models.CharField(_("product code"), max_length=2, default="01")
    hts_id = models.CharField(_("HTS ID"), max_length=20)
    is_enabled = models.BooleanField(_("enabled"), default=True)
    is_selected = models.BooleanField(_("selected"), default=False, editable=False)
    verified_at = models.DateTimeField(_("last verified"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = CredentialQuerySet.as_manager()

    class Meta:
        verbose_name = _("KIS credential")
        verbose_name_plural = _("KIS credentials")
        ordering = ("owner", "label")
        indexes = (models.Index(fields=["owner", "label"], name="accounts_cred_owner_label_idx"),)
        constraints = (
            models.UniqueConstraint(
                fields=["owner", "label"], name="%(app_label)s_%(class)s_unique_label"
            ),
            # At most one selected credential per user: the one the top bar shows.
            models.UniqueConstraint(
                fields=["owner"],
                condition=Q(is_selected=True),
                name="%(app_label)s_%(class)s_one_selected",
            ),
            models.CheckConstraint(
                condition=Q(environment__in=["paper", "real"]),
                name="%(app_label)s_%(class)s_environment_valid",
            ),
        )

    def __str__(self) -> str:
        return f"{self.label} ({self.get_environment_display()})"

    def __repr__(self) -> str:
        return f"<Credential {self.pk} {self.label!r} {self.environment}>"

    def get_absolute_url(self) -> str:
        return reverse("accounts:credential_detail", args=[self.pk])

    @property
    def is_paper(self) -> bool:
        return self.environment == self.Environment.PAPER

    @property
    def is_real(self) -> bool:
        return self.environment == self.Environment.REAL

    @property
    def account_display(self) -> str:
        """``12345678-01``: the account as KIS's apps show it."""
        return f"{self.account_number}-{self.product_code}"

    @property
    def app_key_masked(self) -> str:
        return secrets.mask(self.app_key)

    def _secret_context(self) -> str:
        return f"credential:{self.pk}:app_secret"

    def set_app_secret(self, plain: str) -> None:
        self.app_secret_enc = secrets.seal(plain, context=self._secret_context())

    def reveal_app_secret(self) -> str:
        """The plaintext secret, for the KIS client only. Raises ``SecretUnavailable``."""
        return secrets.unseal(self.app_secret_enc, context=self._secret_context())

    @property
    def secret_is_readable(self) -> bool:
        """Whether a configured key opens the stored app secret (which is not kept). False
        after its key was removed from ``KISWEB_ENCRYPTION_KEYS`` or the value damaged."""
        try:
            self.reveal_app_secret()
        except secrets.SecretUnavailable:
            return False
        return True

    def reseal(self) -> bool:
        """Re-seal the app secret under the primary key. False when it already is."""
        if secrets.is_sealed_under_primary(self.app_secret_enc):
            return False
        self.set_app_secret(self.reveal_app_secret())
        return True


class KisToken(models.Model):
    """The access token or WebSocket approval key currently issued for one credential.

    One row per (credential, kind), shared by every process; the value is sealed.
    """

    class Kind(models.TextChoices):
        ACCESS = "access", _("Access token")
        APPROVAL = "approval", _("Approval key")

    credential = models.ForeignKey(
        Credential, on_delete=models.CASCADE, related_name="tokens", verbose_name=_("credential")
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    app_key = models.CharField(_("app key"), max_length=64, editable=False)
    value_enc = models.TextField(_("value (sealed)"), editable=False)
    issued_at = models.DateTimeField(_("issued"))
    expires_at = models.DateTimeField(_("expires"))
    updated_at = models.DateTimeField(_("saved"), auto_now=True)

    class Meta:
        verbose_name = _("KIS token")
        verbose_name_plural = _("KIS tokens")
        ordering = ("-issued_at",)
        indexes = (models.Index(fields=["-issued_at"], name="accounts_token_issued_idx"),)
        constraints = (
            models.UniqueConstraint(
                fields=["credential", "kind"], name="%(app_label)s_%(class)s_one_per_kind"
            ),
        )

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.credential.label}"

    def __repr__(self) -> str:
        return f"<KisToken {self.kind} credential={self.credential_id} expires={self.expires_at}>"

    @staticmethod
    def context_for(credential_id: UUID, kind: str) -> str:
        return f"token:{credential_id}:{kind}"

    def set_value(self, plain: str) -> None:
        self.value_enc = secrets.seal(
            plain, context=self.context_for(self.credential_id, self.kind)
        )

    def reveal_value(self) -> str:
        return secrets.unseal(
            self.value_enc, context=self.context_for(self.credential_id, self.kind)
        )

    def reseal(self) -> bool:
        if secrets.is_sealed_under_primary(self.value_enc):
            return False
        self.set_value(self.reveal_value())
        return True

    @property
    def is_valid(self) -> bool:
        return self.expires_at > timezone.now()


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def owned_by(self, user: User | AnonymousUser) -> AuditEventQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(actor=user)

    def update(self, **kwargs: Any) -> int:
        raise AuditEvent.Immutable(_("Audit events cannot be changed."))

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditEvent.Immutable(_("Audit events cannot be deleted."))


class AuditEvent(models.Model):
    """Something a person did or tried: who, when, what, to which object, from where.

    Append-only: a saved event is never changed or deleted (``save`` on an existing row,
    ``delete`` and queryset ``update``/``delete`` raise). ``detail`` never holds a secret.
    """

    class Immutable(Exception):
        """An attempt to change or delete an audit event."""

    class Action(models.TextChoices):
        SIGNED_IN = "auth.signed_in", _("Signed in")
        SIGNED_OUT = "auth.signed_out", _("Signed out")
        SIGN_IN_FAILED = "auth.sign_in_failed", _("Sign-in failed")
        SIGNED_UP = "auth.signed_up", _("Signed up")
        PASSWORD_CHANGED = "auth.password_changed", _("Password changed")
        TWO_FACTOR_ENABLED = "auth.2fa_enabled", _("Two-factor sign-in turned on")
        TWO_FACTOR_DISABLED = "auth.2fa_disabled", _("Two-factor sign-in turned off")
        CREDENTIAL_CREATED = "credential.created", _("Credential created")
        CREDENTIAL_CHANGED = "credential.changed", _("Credential changed")
        CREDENTIAL_VERIFIED = "credential.verified", _("Credential verified")
        CREDENTIAL_VERIFY_FAILED = "credential.verify_failed", _("Credential verification failed")
        CREDENTIAL_DELETED = "credential.deleted", _("Credential deleted")
        CREDENTIAL_SELECTED = "credential.selected", _("Credential selected")
        ENVIRONMENT_SWITCHED = "credential.environment_switched", _("Environment switched")

    created_at = models.DateTimeField(_("when"), default=timezone.now, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
        verbose_name=_("who"),
    )
    actor_name = models.CharField(_("user name"), max_length=150, blank=True)
    action = models.CharField(_("what"), max_length=64, choices=Action.choices)
    target_type = models.CharField(_("object type"), max_length=64, blank=True)
    target_id = models.CharField(_("object id"), max_length=64, blank=True)
    target_repr = models.CharField(_("object"), max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ("-created_at", "-id")
        indexes = (
            models.Index(fields=["-created_at", "-id"], name="accounts_audit_created_idx"),
            models.Index(fields=["actor", "-created_at"], name="accounts_audit_actor_idx"),
        )

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise self.Immutable(_("Audit events cannot be changed."))
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise self.Immutable(_("Audit events cannot be deleted."))
