"""Admin for staff: users (with a sign-in unlock), credentials and tokens without their
secrets, and the audit trail read-only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from axes.utils import reset as axes_reset  # type: ignore[import-untyped]  # untyped package
from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_totp.models import (  # type: ignore[import-untyped]  # untyped
    TOTPDevice,
)

from accounts.actions import CredentialInput, update_credential
from accounts.audit import client_ip, record
from accounts.models import AuditEvent, Credential, KisToken
from accounts.texts import SECRET_UNREADABLE_FOR_STAFF
from kisweb.redirects import safe_next_path

if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[Any]
    _TabularInline = admin.TabularInline[Any, Any]
    _UserAdmin = UserAdmin[User]
else:
    # Django's admin classes take no type arguments at run time (django-stubs' do).
    _ModelAdmin, _TabularInline, _UserAdmin = admin.ModelAdmin, admin.TabularInline, UserAdmin


def admin_sign_in(
    request: HttpRequest, extra_context: dict[str, Any] | None = None
) -> HttpResponse:
    """The admin's own sign-in page asks only for a password, which would let a staff
    member with an authenticator skip the code. Staff sign in through kisweb's sign-in
    (password, then code) like everyone else; this page only sends them there."""
    next_url = safe_next_path(request, request.GET.get(REDIRECT_FIELD_NAME), reverse("admin:index"))
    if request.user.is_authenticated:
        if admin.site.has_permission(request):
            return HttpResponseRedirect(next_url)
        # Signed in but not staff: sending them to sign in again would loop.
        raise PermissionDenied
    return redirect_to_login(next_url)


# The default site's password-only page, replaced for every admin URL that asks for it.
admin.site.login = admin_sign_in  # type: ignore[method-assign]


class NoSecretLookups(_ModelAdmin):
    """The changelist filters on any local field named in the query string
    (``?key__startswith=ab``), which lets staff recover a hidden value one character at a
    time from the row count. Lookups on the fields in ``secret_fields`` are refused (400),
    as Django's UserAdmin does for passwords."""

    secret_fields: tuple[str, ...] = ()

    def lookup_allowed(  # type: ignore[override]  # django-stubs 5.2 overloads request=None
        self, lookup: str, value: str, request: HttpRequest
    ) -> bool:
        if lookup.split(LOOKUP_SEP, 1)[0] in self.secret_fields:
            return False
        return super().lookup_allowed(lookup, value, request)


@admin.action(description=_("Unlock sign-in (clear failed attempts)"))
def unlock_sign_in(modeladmin: _UserAdmin, request: HttpRequest, queryset: QuerySet[User]) -> None:
    cleared = sum(axes_reset(username=user.get_username()) for user in queryset)
    modeladmin.message_user(
        request,
        ngettext(
            "Cleared %(count)d failed sign-in record.",
            "Cleared %(count)d failed sign-in records.",
            cleared,
        )
        % {"count": cleared},
        messages.SUCCESS,
    )


admin.site.unregister(User)


@admin.register(User)
class KiswebUserAdmin(_UserAdmin):
    actions = (unlock_sign_in,)


# django-otp's own admin shows and edits the TOTP seed; staff only need to see and remove
# a device (for someone who lost their phone).
admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(NoSecretLookups):
    secret_fields = ("key",)
    list_display = ("user", "name", "confirmed", "created_at", "last_used_at")
    fields = ("user", "name", "confirmed", "created_at", "last_used_at")
    readonly_fields = fields
    search_fields = ("user__username",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class KisTokenInline(_TabularInline):
    model = KisToken
    fields = ("kind", "issued_at", "expires_at", "is_valid")
    readonly_fields = fields
    extra = 0
    can_delete = True

    def has_add_permission(self, request: HttpRequest, obj: Credential | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(boolean=True, description=_("valid"))
    def is_valid(self, token: KisToken) -> bool:
        return token.is_valid


@admin.register(Credential)
class CredentialAdmin(NoSecretLookups):
    """Credentials are added by their owners (only they know the secret). Staff can
    rename, disable or delete; the app key shows masked and the secret never."""

    secret_fields = ("app_key", "app_secret_enc")

    list_display = (
        "label",
        "owner",
        "environment",
        "account_display",
        "app_key_masked",
        "secret_readable",
        "is_enabled",
        "is_selected",
        "verified_at",
    )
    list_filter = ("environment", "is_enabled")
    search_fields = ("label", "owner__username", "account_number")
    fields = (
        "owner",
        "label",
        "environment",
        "account_display",
        "app_key_masked",
        "secret_status",
        "hts_id",
        "is_enabled",
        "is_selected",
        "verified_at",
        "created_at",
        "updated_at",
    )
    readonly_fields = (
        "owner",
        "environment",
        "account_display",
        "app_key_masked",
        "secret_status",
        "is_selected",
        "verified_at",
        "created_at",
        "updated_at",
    )
    inlines = (KisTokenInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    # Staff changes and deletions belong in the audit trail like the owners' own.
    def save_model(
        self, request: HttpRequest, obj: Credential, form: ModelForm[Any], change: bool
    ) -> None:
        """The edit goes through the owners' own action: one rule for what stays in use
        and one audit entry. Staff edit only the label, the HTS ID and whether it is on."""
        if not isinstance(request.user, User):
            raise PermissionDenied
        stored = Credential.objects.select_related("owner").get(pk=obj.pk)
        edit = CredentialInput(
            label=obj.label,
            environment=stored.environment,
            app_key=stored.app_key,
            app_secret="",
            account_number=stored.account_number,
            product_code=stored.product_code,
            hts_id=obj.hts_id,
            is_enabled=obj.is_enabled,
        )
        update_credential(stored.owner, stored, edit, ip=client_ip(request), staff=request.user)
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Credential) -> None:
        self._record_deletion(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Credential]) -> None:
        for credential in queryset:
            self._record_deletion(request, credential)
        super().delete_queryset(request, queryset)

    def _record_deletion(self, request: HttpRequest, credential: Credential) -> None:
        record(
            request.user,
            AuditEvent.Action.CREDENTIAL_DELETED,
            credential,
            request,
            via="admin",
            owner=credential.owner.get_username(),
        )

    @admin.display(description=_("account number"))
    def account_display(self, credential: Credential) -> str:
        return credential.account_display

    @admin.display(description=_("app key"))
    def app_key_masked(self, credential: Credential) -> str:
        return credential.app_key_masked

    @admin.display(description=_("app secret"))
    def secret_status(self, credential: Credential) -> str:
        if not credential.secret_is_readable:
            return str(SECRET_UNREADABLE_FOR_STAFF)
        return str(_("stored encrypted, never shown"))

    @admin.display(boolean=True, description=_("secret readable"))
    def secret_readable(self, credential: Credential) -> bool:
        return credential.secret_is_readable


@admin.register(KisToken)
class KisTokenAdmin(NoSecretLookups):
    """Token status: when issued and until when, never the token. Deleting one makes
    the next call issue a new token."""

    secret_fields = ("app_key", "value_enc")

    list_display = ("credential", "kind", "issued_at", "expires_at", "is_valid")
    list_filter = ("kind",)
    search_fields = ("credential__label", "credential__owner__username")
    fields = ("credential", "kind", "issued_at", "expires_at", "updated_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(boolean=True, description=_("valid"))
    def is_valid(self, token: KisToken) -> bool:
        return token.is_valid


@admin.register(AuditEvent)
class AuditEventAdmin(_ModelAdmin):
    """The audit trail, read-only: nobody adds, changes or deletes an event."""

    list_display = ("created_at", "actor_name", "action", "target_repr", "ip_address")
    list_filter = ("action",)
    search_fields = ("actor_name", "target_repr", "ip_address")
    date_hierarchy = "created_at"
    fields = (
        "created_at",
        "actor",
        "actor_name",
        "action",
        "target_type",
        "target_id",
        "target_repr",
        "ip_address",
        "detail",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
