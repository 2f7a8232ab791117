"""Watchlist pages. Every URL looks the list up among the signed-in person's own, so
another person's list is a 404 like a missing one. Forms work without JavaScript;
``static/js/watchlist.js`` asks for JSON (``Accept: application/json``) to move rows in place."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from market import watchlists as rules
from market.forms import AddSymbolForm, MoveForm, WatchlistNameForm
from market.models import Symbol, Watchlist, WatchlistItem

LIVE_PRICES_JS = "js/live-prices.js"


def _user(request: HttpRequest) -> User:
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


def _owned(request: HttpRequest, pk: int) -> Watchlist:
    watchlist: Watchlist = get_object_or_404(
        Watchlist.objects.owned_by(_user(request)).select_related("owner"), pk=pk
    )
    return watchlist


def _owned_item(request: HttpRequest, pk: int, item_pk: int) -> WatchlistItem:
    item: WatchlistItem = get_object_or_404(
        WatchlistItem.objects.select_related("watchlist__owner", "symbol"),
        pk=item_pk,
        watchlist_id=_owned(request, pk).pk,
    )
    return item


def _quote_url(code: str) -> str:
    """The quote page of ``code`` (the quote pages' ``market:quotes``), "" while absent."""
    try:
        return reverse("market:quotes", args=[code])
    except NoReverseMatch:
        return ""


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _form_error(form: Any) -> str:
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


def _refuse(request: HttpRequest, message: str, back: str) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"ok": False, "message": message}, status=400)
    messages.error(request, message)
    return redirect(back)


def _page(
    request: HttpRequest,
    watchlist: Watchlist | None,
    *,
    add_form: AddSymbolForm | None = None,
    candidates: list[Symbol] | None = None,
    status: int = 200,
) -> HttpResponse:
    owner = _user(request)
    lists = list(Watchlist.objects.owned_by(owner))
    items = (
        list(WatchlistItem.objects.filter(watchlist=watchlist).select_related("symbol"))
        if watchlist
        else []
    )
    for item in items:
        item.quote_url = _quote_url(item.symbol.code)  # type: ignore[attr-defined]
    context = {
        "watchlists": lists,
        "watchlist": watchlist,
        "items": items,
        "add_form": add_form or AddSymbolForm(),
        "create_form": WatchlistNameForm(),
        "rename_form": WatchlistNameForm(initial={"name": watchlist.name}) if watchlist else None,
        "candidates": candidates or [],
        "max_lists": Watchlist.MAX_PER_USER,
        "max_symbols": Watchlist.MAX_SYMBOLS,
        "can_create": len(lists) < Watchlist.MAX_PER_USER,
        "is_full": len(items) >= Watchlist.MAX_SYMBOLS,
        # The quote helper's live-cell script; rows show "—" until it streams a price.
        "live_prices": bool(finders.find(LIVE_PRICES_JS)),
    }
    return render(request, "market/watchlist.html", context, status=status)


@login_required
@never_cache
def watchlist_index(request: HttpRequest) -> HttpResponse:
    first = Watchlist.objects.owned_by(_user(request)).first()
    if first is not None:
        return redirect("market:watchlist", pk=first.pk)
    return _page(request, None)


@login_required
@never_cache
def watchlist_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, _owned(request, pk))


@login_required
@require_POST
def watchlist_create(request: HttpRequest) -> HttpResponse:
    back = reverse("market:watchlists")
    form = WatchlistNameForm(request.POST)
    if not form.is_valid():
        return _refuse(request, _form_error(form), back)
    try:
        watchlist = rules.create_watchlist(_user(request), form.cleaned_data["name"])
    except rules.WatchlistError as error:
        return _refuse(request, error.message, back)
    messages.success(request, _("Watchlist “%(name)s” created.") % {"name": watchlist.name})
    return redirect("market:watchlist", pk=watchlist.pk)


@login_required
@require_POST
def watchlist_rename(request: HttpRequest, pk: int) -> HttpResponse:
    watchlist = _owned(request, pk)
    back = reverse("market:watchlist", args=[watchlist.pk])
    form = WatchlistNameForm(request.POST)
    if not form.is_valid():
        return _refuse(request, _form_error(form), back)
    try:
        rules.rename_watchlist(watchlist, form.cleaned_data["name"])
    except rules.WatchlistError as error:
        return _refuse(request, error.message, back)
    messages.success(request, _("Watchlist renamed."))
    return redirect(back)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def watchlist_delete(request: HttpRequest, pk: int) -> HttpResponse:
    watchlist = _owned(request, pk)
    if request.method == "POST":
        name = watchlist.name
        rules.delete_watchlist(watchlist)
        messages.success(request, _("Watchlist “%(name)s” deleted.") % {"name": name})
        return redirect("market:watchlists")
    return render(
        request,
        "market/watchlist_confirm_delete.html",
        {"watchlist": watchlist, "count": watchlist.items.count()},
    )


@login_required
@require_POST
def watchlist_move(request: HttpRequest, pk: int) -> HttpResponse:
    watchlist = _owned(request, pk)
    back = reverse("market:watchlist", args=[watchlist.pk])
    form = MoveForm(request.POST)
    if not form.is_valid():
        return _refuse(request, _form_error(form), back)
    order = rules.move_watchlist(watchlist, form.cleaned_data["direction"])
    if _wants_json(request):
        return JsonResponse({"ok": True, "order": order})
    return redirect(back)


@login_required
@require_POST
def watchlist_add(request: HttpRequest, pk: int) -> HttpResponse:
    watchlist = _owned(request, pk)
    back = reverse("market:watchlist", args=[watchlist.pk])
    form = AddSymbolForm(request.POST)
    if not form.is_valid():
        return _refuse(request, _form_error(form), back)
    try:
        found = rules.resolve_symbol(form.cleaned_data["symbol"], form.cleaned_data["market"])
        if isinstance(found, list):
            # Several matches: the same page, with the candidates to pick one from.
            return _page(request, watchlist, add_form=form, candidates=found)
        rules.add_symbol(watchlist, found)
    except rules.WatchlistError as error:
        return _refuse(request, error.message, back)
    messages.success(
        request, _("Added %(name)s (%(code)s).") % {"name": found.name, "code": found.code}
    )
    return redirect(back)


@login_required
@require_POST
def item_remove(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    item = _owned_item(request, pk, item_pk)
    rules.remove_item(item)
    if _wants_json(request):
        return JsonResponse({"ok": True})
    messages.success(
        request,
        _("Removed %(name)s (%(code)s).") % {"name": item.symbol.name, "code": item.symbol.code},
    )
    return redirect("market:watchlist", pk=pk)


@login_required
@require_POST
def item_move(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    item = _owned_item(request, pk, item_pk)
    back = reverse("market:watchlist", args=[pk])
    form = MoveForm(request.POST)
    if not form.is_valid():
        return _refuse(request, _form_error(form), back)
    order = rules.move_item(item, form.cleaned_data["direction"])
    if _wants_json(request):
        return JsonResponse({"ok": True, "order": order})
    return redirect(back)
