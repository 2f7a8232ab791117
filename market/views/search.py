"""Symbol search: a JSON endpoint for the autocomplete, and a page that works without JS."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from market.models import Symbol
from market.symbols import MAX_QUERY_CHARS, search


def symbol_json(symbol: Symbol) -> dict[str, str]:
    return {
        "code": symbol.code,
        "market": symbol.market,
        "market_label": symbol.get_market_display(),
        "name": symbol.name,
        "name_en": symbol.name_en,
        "kind": symbol.kind,
        "currency": symbol.currency,
    }


def _query(request: HttpRequest) -> str:
    # Over-long input is cut, not refused: an autocomplete never shows an error box.
    return request.GET.get("q", "")[:MAX_QUERY_CHARS]


@login_required
@require_GET
def symbol_search(request: HttpRequest) -> JsonResponse:
    """``?q=``: up to 20 listed symbols, best first (``market.symbols.search``)."""
    query = _query(request)
    found = search(query)
    response = JsonResponse({"query": query, "results": [symbol_json(s) for s in found]})
    response["Cache-Control"] = "private, max-age=60"
    return response


@login_required
@require_GET
def search_page(request: HttpRequest) -> HttpResponse:
    query = _query(request)
    return render(
        request,
        "market/search.html",
        {"query": query, "results": search(query) if query.strip() else []},
    )
