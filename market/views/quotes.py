"""The quote page and its candle JSON. Thin: the symbol comes from the master, the first
state from ``market.quotes`` (REST), everything after from the market stream in the browser.
A KIS failure is a banner (page) or a message (JSON), never a 500."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.models import Credential
from accounts.secrets import SecretUnavailable
from accounts.selection import current_credential
from kisweb.kis import KisError
from market import quotes
from market.models import Symbol
from trading import rules
from trading.forms import OrderTicketForm, new_idempotency_key

TAPE_ROWS = 30  # the time-and-sales tape keeps this many trades, newest first
BOOK_LEVELS = 10


@login_required
@require_GET
def quote_jump(request: HttpRequest) -> HttpResponse:
    """The symbol box: ``?code=000660`` goes to that quote page; no code, the default one.
    ``symbol``/``market`` (what the symbols app's search box sends once a row is picked)
    are read too, so that box can stand in for this one."""
    code = (request.GET.get("code") or request.GET.get("symbol") or "").strip()
    symbol = quotes.find_symbol(code or quotes.DEFAULT_CODE, request.GET.get("market", ""))
    if symbol is None:
        return _not_found(request, code)
    return redirect("market:quotes", code=symbol.code)


def _not_found(request: HttpRequest, code: str) -> HttpResponse:
    return render(request, "market/quote_not_found.html", {"code": code[:16]}, status=404)


@login_required
@never_cache
@require_GET
def quote_page(request: HttpRequest, code: str) -> HttpResponse:
    symbol = quotes.find_symbol(code)
    if symbol is None:
        return _not_found(request, code)
    credential = current_credential(request)
    context: dict[str, Any] = {
        "symbol": symbol,
        "credential": credential,
        "tape_rows": TAPE_ROWS,
        "levels": range(BOOK_LEVELS),
    }
    if credential is None:
        return render(request, "market/quote.html", {**context, "no_credential": True})
    snapshot = quotes.read_snapshot(credential, symbol)
    context.update(
        snapshot=snapshot,
        ask_rows=_book_rows(snapshot.asks, snapshot.max_level, reverse=True),
        bid_rows=_book_rows(snapshot.bids, snapshot.max_level, reverse=False),
        form=_ticket_form(credential, snapshot),
        rates_commission=str(rules.cost_rates().commission),
        rates_tax=str(rules.cost_rates().sell_tax),
    )
    return render(request, "market/quote.html", context)


def _book_rows(
    levels: list[quotes.Level], largest: int, *, reverse: bool
) -> list[quotes.Level | None]:
    """Always ``BOOK_LEVELS`` rows a side (blank ones pad), so the book never changes height
    when a level empties; asks are drawn highest first, so the best ask sits on the spread."""
    padded: list[quotes.Level | None] = [*levels[:BOOK_LEVELS]]
    padded += [None] * (BOOK_LEVELS - len(padded))
    return padded[::-1] if reverse else padded


def _ticket_form(credential: Credential, snapshot: quotes.Snapshot) -> OrderTicketForm:
    """The trading app's own ticket form, for this symbol; it posts to ``trading:order_ticket``,
    which runs every rule and journals the order as the ticket page does."""
    environment = credential.environment
    if snapshot.market == "US":
        offered: tuple[str, ...] = rules.CAPABILITIES[environment].us_buy_types
    else:
        offered = rules.order_types_now(rules.kst_now(), environment, snapshot.venue)
    initial = {
        "market": snapshot.market,
        "venue": snapshot.venue,
        "symbol": snapshot.symbol.code,
        "side": "buy",
        "order_type": "00",
        "idempotency_key": new_idempotency_key(),
    }
    if snapshot.price is not None:
        initial["price"] = format(snapshot.price.normalize(), "f")  # 189.8100 -> 189.81
    return OrderTicketForm(initial=initial, environment=environment, order_types=offered)


@login_required
@require_GET
def quote_candles(request: HttpRequest, code: str) -> JsonResponse:
    """``{"symbol", "interval", "currency", "candles": [...]}``, oldest first; an error is
    ``{"error": "<sentence>"}`` with a 4xx/502 status and nothing else."""
    symbol: Symbol | None = quotes.find_symbol(code)
    if symbol is None:
        return JsonResponse({"error": _("There is no symbol with this code.")}, status=404)
    interval = request.GET.get("interval", "day")
    if interval not in ("day", "minute") or (interval == "minute" and not symbol.is_domestic):
        return JsonResponse({"error": _("This chart interval is not offered.")}, status=400)
    credential = current_credential(request)
    if credential is None:
        return JsonResponse(
            {"error": _("Add and select a KIS credential to see charts.")}, status=409
        )
    try:
        candles = quotes.read_candles(credential, symbol, interval)  # type: ignore[arg-type]
    except (KisError, SecretUnavailable) as failure:
        detail = f" ({failure.code})" if isinstance(failure, KisError) else ""
        return JsonResponse(
            {"error": _("KIS could not give the chart now. Try again shortly.") + detail},
            status=502,
        )
    return JsonResponse(
        {
            "symbol": symbol.code,
            "interval": interval,
            "currency": "KRW" if symbol.is_domestic else "USD",
            "candles": quotes.candle_rows(candles, domestic=symbol.is_domestic),
        }
    )
