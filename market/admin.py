"""Admin for staff: the symbol master (read by search, loaded by ``loadsymbols``) and
watchlists, read-only: they belong to their owners."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest

from market.models import Symbol, Watchlist, WatchlistItem

if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[Any]
    _TabularInline = admin.TabularInline[Any, Any]
else:
    _ModelAdmin, _TabularInline = admin.ModelAdmin, admin.TabularInline


@admin.register(Symbol)
class SymbolAdmin(_ModelAdmin):
    list_display = ("code", "name", "name_en", "market", "kind", "currency", "is_active")
    list_filter = ("market", "kind", "is_active", "is_halted")
    search_fields = ("code", "name", "name_en", "standard_code")
    readonly_fields = ("search_name", "initials", "search_name_en")


class WatchlistItemInline(_TabularInline):
    model = WatchlistItem
    fields = ("position", "symbol", "added_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Watchlist)
class WatchlistAdmin(_ModelAdmin):
    list_display = ("name", "owner", "position", "created_at")
    search_fields = ("name", "owner__username")
    readonly_fields = ("owner", "name", "position", "created_at")
    inlines = (WatchlistItemInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
