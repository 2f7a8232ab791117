"""Admin: per-credential fee settings (owners change their own on the fees page)."""

from __future__ import annotations

from django.contrib import admin

from trading.models import FeeSettings


@admin.register(FeeSettings)
class FeeSettingsAdmin(admin.ModelAdmin):
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
