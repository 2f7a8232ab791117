"""Every route of the URL configuration, with what a browser can send it: the form fields
a POST carries (from the view's form class), the query parameters a GET is read for, and
the arguments in its path. Who may use a route comes from the classification in
``tests/layout/test_every_route_is_guarded.py``; a route added later must be described
here too (``test_every_route_is_described`` fails until it is).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordChangeForm,
    PasswordResetForm,
    SetPasswordForm,
)
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.forms import CredentialForm, OtpForm, SelectCredentialForm, SignUpForm
from market.forms import AddSymbolForm, MoveForm, WatchlistNameForm
from tests.route_classes import (
    OBJECT_ROUTES,
    OWN_PAGES,
    PUBLIC,
    SHARED_MARKET,
    STAFF,
)
from trading.fees import FeeSettingsForm
from trading.forms import AmendForm, OrderTicketForm

FormSpec = type[forms.BaseForm] | tuple[str, ...]

# The form each state-changing function view binds to ``request.POST`` (class-based views
# name theirs in ``form_class``), or the bare fields a view reads without a form.
POST_FORMS: dict[str, tuple[FormSpec, ...]] = {
    "set_language": (("language", "next"),),
    "logout": (("next",),),
    "accounts:signup": (SignUpForm,),
    "accounts:sign_in_code": (OtpForm,),
    "accounts:two_factor_setup": (OtpForm,),
    "accounts:two_factor_disable": (OtpForm,),
    "accounts:credential_create": (CredentialForm,),
    "accounts:credential_edit": (CredentialForm,),
    "accounts:credential_select": (SelectCredentialForm,),
    "accounts:credential_delete": (),
    "accounts:credential_verify": (),
    "trading:order_ticket": (OrderTicketForm,),
    "trading:order_cancel": (AmendForm,),
    "trading:order_revise": (AmendForm,),
    "trading:reconcile": (),
    "trading:fees": (FeeSettingsForm, ("reset",)),
    "market:watchlist_create": (WatchlistNameForm,),
    "market:watchlist_rename": (WatchlistNameForm,),
    "market:watchlist_delete": (),
    "market:watchlist_move": (MoveForm,),
    "market:watchlist_add": (AddSymbolForm,),
    "market:watchlist_item_remove": (),
    "market:watchlist_item_move": (MoveForm,),
    # Django's own views: their form class is the view's; ``next`` is read beside it.
    "login": (AuthenticationForm, ("next",)),
    "password_change": (PasswordChangeForm,),
    "password_reset": (PasswordResetForm,),
    "password_reset_confirm": (SetPasswordForm,),
}
# Pages and probes: a POST to them (allowed or not) must change nothing at all.
READ_ONLY = {
    "home",
    "health",
    "healthz",
    "readyz",
    "metrics",
    "admin_kis_health",
    "password_change_done",
    "password_reset_done",
    "password_reset_complete",
    "accounts:credential_list",
    "accounts:credential_detail",
    "accounts:audit_log",
    "trading:portfolio",
    "trading:order_list",
    "trading:order_detail",
    "trading:help",
    "market:watchlists",
    "market:watchlist",
    "market:search",
    "market:symbol_search",
    "market:quotes",
    "market:quote_candles",
}
# The query parameters each view reads from ``request.GET`` (``test_the_query_parameters
# _are_the_ones_the_views_read`` compares them with the source).
GET_PARAMS: dict[str, tuple[str, ...]] = {
    "login": ("next",),
    "set_language": ("next",),
    "accounts:audit_log": ("page",),
    "trading:order_list": ("start", "end", "symbol", "status", "export", "page"),
    "trading:order_ticket": ("market", "venue", "symbol", "side"),
    "market:quotes": ("code", "symbol", "market"),
    "market:quote_candles": ("interval",),
    "market:symbol_search": ("q",),
    "market:search": ("q",),
}
# Probes whose answer says how the site is (the database, Redis, the heartbeats): the
# input must not change it, whatever the answer is.
PROBES = {"readyz"}


@dataclass(frozen=True)
class Route:
    name: str
    route: str  # the full pattern, e.g. "market/watchlists/<int:pk>/add/"
    converters: tuple[tuple[str, str], ...]  # (argument, converter class name)

    @property
    def id(self) -> str:
        return f"{self.name} {self.route}"

    @property
    def public(self) -> bool:
        return self.name in PUBLIC

    @property
    def owner_kind(self) -> str | None:
        return OBJECT_ROUTES.get(self.name)


def _walk(
    patterns: list[Any], prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str, Any, tuple[tuple[str, str], ...]]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = pattern.name or f"<unnamed {pattern.lookup_str}>"
            full = f"{namespace}:{name}" if namespace else name
            converters = getattr(pattern.pattern, "converters", {})
            kinds = tuple((arg, type(conv).__name__) for arg, conv in converters.items())
            yield full, prefix + str(pattern.pattern), pattern.callback, kinds


def is_admin(name: str) -> bool:
    return name.startswith("admin:") or name.startswith("<unnamed django.contrib.admin")


def every_pattern() -> list[tuple[str, str, Any, tuple[tuple[str, str], ...]]]:
    """(name, route, view, converters) of every pattern, the admin's too."""
    return sorted(_walk(get_resolver().url_patterns), key=lambda row: (row[0], row[1]))


def site_routes() -> list[Route]:
    """Every route but Django's admin (staff only, Django's own forms)."""
    return [
        Route(name, route, converters)
        for name, route, _view, converters in every_pattern()
        if not is_admin(name)
    ]


def classified_names() -> set[str]:
    return PUBLIC | STAFF | OWN_PAGES | SHARED_MARKET | set(OBJECT_ROUTES)


def form_classes(name: str) -> tuple[FormSpec, ...]:
    return POST_FORMS.get(name, ())


def field_names(name: str) -> list[str]:
    """The names a browser's form for this route carries."""
    names: list[str] = []
    for spec in form_classes(name):
        if isinstance(spec, tuple):
            names.extend(spec)
        else:
            names.extend(spec.base_fields)
    if name == "accounts:credential_edit":
        names.append("is_enabled")  # only the edit form has it (set in __init__)
    return list(dict.fromkeys(names))


def view_form_class(view: Any) -> type[forms.BaseForm] | None:
    """A class-based view's own form class, if it has one."""
    view_class = getattr(view, "view_class", None)
    return getattr(view_class, "form_class", None)


ROUTES = site_routes()
POST_ROUTES = [route for route in ROUTES if route.name in POST_FORMS]
