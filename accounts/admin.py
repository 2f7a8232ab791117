"""Admin for staff: users (with a sign-in unlock), credentials and tokens without their
secrets, and the audit trail read-only."""

from axes.utils import reset as axes_reset
from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME, get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.actions import CredentialInput, update_credential
from accounts.audit import client_ip, record
from accounts.models import AuditEvent, Credential, KisToken
from accounts.texts import SECRET_UNREADABLE_FOR_STAFF
from kisweb.redirects import safe_next_path

User = get_user_model()


def admin_sign_in(request, extra_context=None):
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


admin.site.login = admin_sign_in


class NoSecretLookups:
    """The changelist filters on any local field named in the query string
    (``?key__startswith=ab``), which lets staff recover a hidden value one character at a
    time from the row count. Lookups on the fields in ``secret_fields`` are refused (400),
    as Django's UserAdmin does for passwords."""

    secret_fields: tuple[str, ...] = ()

    def lookup_allowed(self, lookup, value, request=None):
        if lookup.split(LOOKUP_SEP, 1)[0] in self.secret_fields:
            return False
        return super().lookup_allowed(lookup, value, request)


@admin.action(description=_("Unlock sign-in (clear failed attempts)"))
def unlock_sign_in(modeladmin, request, queryset):
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
class KiswebUserAdmin(UserAdmin):
    actions = (unlock_sign_in,)


# django-otp's own admin shows and edits the TOTP seed; staff only need to see and remove
# a device (for someone who lost their phone).
admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(NoSecretLookups, admin.ModelAdmin):
    secret_fields = ("key",)
    list_display = ("user", "name", "confirmed", "created_at", "last_used_at")
    fields = ("user", "name", "confirmed", "created_at", "last_used_at")
    readonly_fields = fields
    search_fields = ("user__username",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class KisTokenInline(admin.TabularInline):
    model = KisToken
    fields = ("kind", "issued_at", "expires_at", "is_valid")
    readonly_fields = fields
    extra = 0
    can_delete = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(boolean=True, description=_("valid"))
    def is_valid(self, token):
        return token.is_valid


@admin.register(Credential)
class CredentialAdmin(NoSecretLookups, admin.ModelAdmin):
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

    def has_add_permission(self, request):
        return False

    # Staff changes and deletions belong in the audit trail like the owners' own.
    def save_model(self, request, obj, form, change):
        """The edit goes through the owners' own action: one rule for what stays in use
        and one audit entry. Staff edit only the label, the HTS ID and whether it is on."""
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

    def delete_model(self, request, obj):
        self._record_deletion(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for credential in queryset:
            self._record_deletion(request, credential)
        super().delete_queryset(request, queryset)

    def _record_deletion(self, request, credential):
        record(
            request.user,
            AuditEvent.Action.CREDENTIAL_DELETED,
            credential,
            request,
            via="admin",
            owner=credential.owner.get_username(),
        )

    @admin.display(description=_("account number"))
    def account_display(self, credential):
        return credential.account_display

    @admin.display(description=_("app key"))
    def app_key_masked(self, credential):
        return credential.app_key_masked

    @admin.display(description=_("app secret"))
    def secret_status(self, credential):
        if not credential.secret_is_readable:
            return SECRET_UNREADABLE_FOR_STAFF
        return _("stored encrypted, never shown")

    @admin.display(boolean=True, description=_("secret readable"))
    def secret_readable(self, credential):
        return credential.secret_is_readable


@admin.register(KisToken)
class KisTokenAdmin(NoSecretLookups, admin.ModelAdmin):
    """Token status: when issued and until when, never the token. Deleting one makes
    the next call issue a new token."""

    secret_fields = ("app_key", "value_enc")

    list_display = ("credential", "kind", "issued_at", "expires_at", "is_valid")
    list_filter = ("kind",)
    search_fields = ("credential__label", "credential__owner__username")
    fields = ("credential", "kind", "issued_at", "expires_at", "updated_at")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(boolean=True, description=_("valid"))
    def is_valid(self, token):
        return token.is_valid


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
