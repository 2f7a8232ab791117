"""Admin: the KRX calendar (see the stored days, refresh them from KIS) and per-credential
fee settings (owners change their own on the fees page)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Credential
from accounts.secrets import SecretUnavailable
from kisweb.kis import KisError
from trading import calendar
from trading.models import FeeSettings, MarketDay

if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[Any]
else:  # Django's admin classes take no type arguments at run time (django-stubs' do)
    _ModelAdmin = admin.ModelAdmin


@admin.register(MarketDay)
class MarketDayAdmin(_ModelAdmin):
    list_display = (
        "day",
        "weekday_code",
        "is_open",
        "is_business_day",
        "is_trading_day",
        "is_settlement_day",
        "fetched_at",
    )
    list_filter = ("is_open",)
    date_hierarchy = "day"
    readonly_fields = list_display
    actions = ("refresh_from_kis",)
    # A "Refresh from KIS" button above the list: an empty table has no rows to select.
    change_list_template = "admin/trading/marketday/change_list.html"

    def get_urls(self) -> list[URLPattern]:
        refresh = path(
            "refresh/",
            self.admin_site.admin_view(self.refresh_view),
            name="trading_marketday_refresh",
        )
        return [refresh, *super().get_urls()]

    def refresh_view(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_view_permission(request):
            return redirect("admin:index")
        self.refresh_from_kis(request, MarketDay.objects.none())
        return redirect("admin:trading_marketday_changelist")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # rows come from KIS only

    @admin.action(description=gettext_lazy("Refresh the calendar from KIS (chk-holiday)"))
    def refresh_from_kis(self, request: HttpRequest, queryset: QuerySet[MarketDay]) -> None:
        """Asks with the admin's own enabled real credential (the TR is real-only); the
        selection does not matter: KIS answers from today on."""
        credential = (
            Credential.objects.filter(owner_id=request.user.pk, is_enabled=True)
            .filter(environment=Credential.Environment.REAL)
            .first()
        )
        if credential is None:
            self.message_user(
                request,
                _(
                    "KIS offers its holiday calendar to real accounts only: add an enabled "
                    "real credential to your own account, then refresh."
                ),
                messages.ERROR,
            )
            return
        try:
            written = calendar.refresh(credential)
        except (KisError, SecretUnavailable):
            self.message_user(
                request, _("KIS could not be asked now. Try again shortly."), messages.ERROR
            )
            return
        self.message_user(
            request,
            _("Stored %(count)s days of the KRX calendar from KIS.") % {"count": written},
            messages.SUCCESS,
        )


@admin.register(FeeSettings)
class FeeSettingsAdmin(_ModelAdmin):
    list_display = (
        "credential",
        "commission_pct",
        "kospi_sell_tax_pct",
        "kosdaq_sell_tax_pct",
        "us_commission_pct",
        "us_sell_fee_pct",
        "updated_at",
    )
    list_select_related = ("credential",)
    search_fields = ("credential__label", "credential__owner__username")
    # The credential is chosen from a raw id: the admin list of credentials shows no secret.
    raw_id_fields = ("credential",)
    readonly_fields = ("updated_at",)
