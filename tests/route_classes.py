"""Who may use each route of the URL configuration.

``tests/layout/test_every_route_is_guarded.py`` checks that every route is in exactly one
class and that each class is guarded; ``tests/hostile`` posts to each route as its class says."""

from __future__ import annotations

# Anyone may use these (signing in, resetting a password, probes, the language switch).
PUBLIC = {
    "health",
    "healthz",
    "readyz",
    "set_language",
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "accounts:signup",
    "accounts:sign_in_code",
}
# Staff only: the admin (every admin:* route), the KIS health page, the metrics.
STAFF = {"admin_kis_health", "metrics"}
# Signed in; the page shows the member's own things only (bob must not see alice's).
OWN_PAGES = {
    "home",
    "password_change",
    "password_change_done",
    "accounts:credential_list",
    "accounts:credential_create",
    "accounts:credential_select",
    "accounts:two_factor_setup",
    "accounts:two_factor_disable",
    "accounts:audit_log",
    "trading:portfolio",
    "trading:order_ticket",
    "trading:order_list",
    "trading:reconcile",
    "trading:help",
    "trading:fees",
    "market:watchlists",
    "market:watchlist_create",
    "market:search",
    "market:symbol_search",
}
# Signed in; market data every member may read (no one's own object in the URL).
SHARED_MARKET = {"market:quotes", "market:quote_candles"}
# One of alice's objects in the URL: bob gets 404 on GET and POST.
OBJECT_ROUTES = {
    "accounts:credential_detail": "credential",
    "accounts:credential_edit": "credential",
    "accounts:credential_delete": "credential",
    "accounts:credential_verify": "credential",
    "trading:order_detail": "order",
    "trading:order_cancel": "order",
    "trading:order_revise": "order",
    "market:watchlist": "watchlist",
    "market:watchlist_rename": "watchlist",
    "market:watchlist_delete": "watchlist",
    "market:watchlist_move": "watchlist",
    "market:watchlist_add": "watchlist",
    "market:watchlist_item_remove": "item",
    "market:watchlist_item_move": "item",
}
# What a hostile form would carry: enough for every view to act if it wrongly let bob in.
HOSTILE_FORM = {
    "label": "taken over",
    "name": "taken over",
    "direction": "up",
    "symbol": "035720",
    "price": "66000",
    "quantity": "1",
    "idempotency_key": "bob-" + "0" * 28,
    "confirmed": "on",
    "credential": "",
}
