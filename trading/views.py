"""Thin views: read KIS through ``trading.actions.read_kis``, judge with ``trading.rules``,
write through ``trading.actions``. A KIS error is a banner on the page, never a 500."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import re
from collections.abc import Awaitable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import audit
from accounts.models import Credential
from accounts.secrets import SecretUnavailable
from accounts.selection import current_credential
from kisweb.kis import (
    Balance,
    Executions,
    KisClient,
    KisError,
    OrderBookSnapshot,
    OrderType,
    Quote,
    Rejected,
    UsBalance,
    UsExchange,
    UsQuote,
    Venue,
)
from market.models import Symbol
from trading import actions, calendar, names, rules
from trading.fees import FeeSettingsForm
from trading.forms import (
    MARKET_VENUES,
    AmendForm,
    OrderFilterForm,
    OrderTicketForm,
    new_idempotency_key,
)
from trading.models import FeeSettings, Order, rates_for

PAGE_SIZE = 50
_ORDER_TYPES = frozenset(kind.value for kind in OrderType)


def _user(request: HttpRequest) -> User:
    """The signed-in user (every view here is behind ``login_required``)."""
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


def _no_credential(
    request: HttpRequest, template: str, context: dict[str, Any] | None = None
) -> HttpResponse:
    return render(request, template, {"no_credential": True, **(context or {})})


def _owned_order(request: HttpRequest, pk: object) -> Order:
    # Another user's order gets the same 404 as a missing one.
    order: Order = get_object_or_404(
        Order.objects.owned_by(request.user).select_related("credential", "original"), pk=pk
    )
    return order


def _kis_failure(error: Exception) -> dict[str, str]:
    """A banner's words for a failed read: KIS's code and text, never a traceback."""
    if isinstance(error, KisError):
        return {"code": error.code, "text": error.message}
    return {"code": "SECRET", "text": _("The app secret cannot be opened; enter it again.")}


# ---------------------------------------------------------------- portfolio


@dataclass
class PortfolioData:
    balance: Balance | None = None
    us_balance: UsBalance | None = None


@login_required
@never_cache
def portfolio(request: HttpRequest) -> HttpResponse:
    credential = current_credential(request)
    if credential is None:
        return _no_credential(request, "trading/portfolio.html")

    async def read(client: KisClient) -> PortfolioData:
        data = PortfolioData(balance=await client.balance())
        data.us_balance = await client.us_balance()
        return data

    error = None
    try:
        data = actions.read_kis(credential, read)
    except (KisError, SecretUnavailable) as failure:
        data, error = PortfolioData(), _kis_failure(failure)
    rows = []
    balance = data.balance
    if balance is not None:
        total = balance.securities_value or Decimal(0)
        for holding in balance.holdings:
            weight = (holding.value * 100 / total) if total else Decimal(0)
            rows.append({"holding": holding, "weight": weight})
    return render(
        request,
        "trading/portfolio.html",
        {
            "credential": credential,
            "balance": balance,
            "rows": rows,
            "us_balance": data.us_balance,
            "kis_error": error,
        },
    )


# ---------------------------------------------------------------- order ticket


@dataclass
class Market:
    """What the ticket shows beside the form, read from KIS for the venue it trades on."""

    quote: Quote | None = None
    us_quote: UsQuote | None = None
    book: OrderBookSnapshot | None = None
    buyable: int | None = None
    sellable: int | None = None
    symbol_missing: bool = False
    error: dict[str, str] | None = None
    steps: list[dict[str, object]] = field(default_factory=list)

    @property
    def price(self) -> Decimal | None:
        if self.quote is not None:
            return self.quote.price
        if self.us_quote is not None:
            return self.us_quote.price
        return None

    symbol_name: str = ""  # from the holdings when held; inquire-price carries no name


def _read_market(
    credential: Credential,
    market: str,
    venue: str,
    symbol: str,
    side: str,
    price: Decimal | None,
    order_type: str,
    *,
    with_book: bool,
) -> Market:
    listed = names.from_master(market, symbol)

    async def read(client: KisClient) -> Market:
        found = Market(symbol_name=listed.name)
        if not found.symbol_name:
            found.symbol_name = await names.from_kis(client, market, venue, symbol)
        if market == Order.Market.US:
            found.us_quote = await client.us_quote(symbol, UsExchange(venue))
            if side == Order.Side.SELL:
                us = await client.us_balance()
                found.sellable = next(
                    (h.sellable_quantity for h in us.holdings if h.symbol == symbol), 0
                )
            return found
        # The quote comes from the venue the order goes to (J / NX / UN). The reads that
        # do not need the quote's answer go out beside it, not after it.
        kind = OrderType(order_type) if order_type in _ORDER_TYPES else OrderType.LIMIT
        priced = kind.needs_price and price
        beside: list[Awaitable[Any]] = [client.quote(symbol, Venue(venue))]
        if with_book:
            beside.append(client.order_book(symbol, Venue(venue)))
        if side == Order.Side.SELL:
            beside.append(client.balance())
        elif priced:
            beside.append(client.buying_power(symbol, price, kind))
        answers = list(await asyncio.gather(*beside))
        found.quote = answers.pop(0)
        if with_book:
            found.book = answers.pop(0)
        if side == Order.Side.SELL:
            balance = answers.pop(0)
            held = next((h for h in balance.holdings if h.symbol == symbol), None)
            found.sellable = held.sellable_quantity if held else 0
            found.symbol_name = found.symbol_name or (held.name if held else "")
        else:
            power = answers.pop(0) if priced else None
            if power is None:
                power = await client.buying_power(symbol, found.quote.price, kind)
            found.buyable = power.no_margin_quantity
        return found

    try:
        return actions.read_kis(credential, read)
    except Rejected as refusal:
        return Market(symbol_missing=True, error=_kis_failure(refusal))
    except (KisError, SecretUnavailable) as failure:
        return Market(error=_kis_failure(failure))


def _step_buttons(market: str, price: Decimal | None) -> list[dict[str, object]]:
    if price is None or price <= 0:
        return []
    return [
        {"ticks": ticks, "price": rules.step_price(market, price, ticks)}
        for ticks in (-5, -1, 1, 5)
    ]


def _check_ticket(form: OrderTicketForm, credential: Credential, found: Market) -> bool:
    """Run the rules on a cleaned form; add each refusal to the form. True when sendable."""
    data = form.cleaned_data
    try:
        rules.check_offered(
            credential.environment, data["market"], data["venue"], data["side"], data["order_type"]
        )
        rules.check_sendable(data["market"], data["venue"], data["order_type"])
        if data["market"] == Order.Market.KRX:
            rules.check_session(
                rules.kst_now(),
                credential.environment,
                data["venue"],
                data["order_type"],
                calendar.day_status(rules.kst_now().astimezone(rules.KST).date()).open,
            )
    except rules.TicketRefused as refusal:
        form.add_error(refusal.field or None, refusal.message)
        return False
    if found.symbol_missing:
        form.add_error("symbol", _("KIS does not know this symbol. Check the code."))
        return False
    if found.error is not None:
        form.add_error(None, _("KIS could not be asked about this order now. Try again shortly."))
        return False
    quote = found.quote
    try:
        rules.check_price(
            data["market"],
            data["order_type"],
            data.get("price"),
            upper=quote.upper_limit if quote else None,
            lower=quote.lower_limit if quote else None,
            quoted_tick=quote.tick_size if quote else None,
            quoted_at=quote.price if quote else None,
        )
    except rules.TicketRefused as refusal:
        form.add_error(refusal.field, refusal.message)
    try:
        rules.check_quantity(
            data["quantity"], data["side"], buyable=found.buyable, sellable=found.sellable
        )
    except rules.TicketRefused as refusal:
        form.add_error(refusal.field, refusal.message)
    return not form.errors


@login_required
@never_cache
def order_ticket(request: HttpRequest) -> HttpResponse:
    credential = current_credential(request)
    if credential is None:
        return _no_credential(request, "trading/order_ticket.html")
    environment = credential.environment
    source = request.POST if request.method == "POST" else request.GET
    market = str(source.get("market")) if source.get("market") in Order.Market.values else "KRX"
    # A link or a post can name any venue; only one of the market's own is used here (the
    # form refuses the others on a post).
    asked = source.get("venue")
    venue = str(asked) if asked in MARKET_VENUES[market] else MARKET_VENUES[market][0]
    if market == Order.Market.US:
        # The exchange is the symbol's, from the master when it lists the ticker.
        listed = names.from_master(market, str(source.get("symbol", "")).strip().upper())
        venue = listed.exchange or venue
        capabilities = rules.CAPABILITIES[environment]
        offered: tuple[str, ...] = (
            capabilities.us_sell_types
            if source.get("side") == "sell"
            else capabilities.us_buy_types
        )
    if rules.market_hours() == "krx":
        calendar.refresh_daily(credential)  # at most once a day per site, real credentials
    day = calendar.day_status(rules.kst_now().astimezone(rules.KST).date())
    if market != Order.Market.US:
        offered = rules.order_types_now(rules.kst_now(), environment, venue, day.open)
    context: dict[str, Any] = {
        "credential": credential,
        "capabilities": rules.CAPABILITIES[environment],
        "sessions": rules.sessions_at(rules.kst_now(), environment, venue, day.open),
        "market_day": day if rules.market_hours() == "krx" else None,
    }
    if request.method == "POST":
        key = request.POST.get("idempotency_key", "")
        # Only a key the form could have issued is looked up: anything a browser sends
        # reaches here (a NUL byte breaks a PostgreSQL query); the form then refuses it.
        plausible = key.isascii() and key.isprintable() and 0 < len(key) <= 64
        earlier = (
            Order.objects.owned_by(request.user).filter(idempotency_key=key).first()
            if plausible
            else None
        )
        if earlier is not None:
            messages.info(request, _("This order was sent already; here is its result."))
            return redirect(earlier)
        form = OrderTicketForm(request.POST, environment=environment)
        if form.is_valid():
            data = form.cleaned_data
            found = _read_market(
                credential,
                data["market"],
                data["venue"],
                data["symbol"],
                data["side"],
                data.get("price"),
                data["order_type"],
                with_book=False,
            )
            if _check_ticket(form, credential, found):
                ticket = form.ticket(symbol_name=found.symbol_name)
                if credential.is_real and not data["confirmed"]:
                    estimate = rules.estimate(
                        ticket.market,
                        ticket.side,
                        ticket.price or found.price or Decimal(0),
                        ticket.quantity,
                        rates_for(credential),
                        listing=_listing(ticket.symbol),
                    )
                    return render(
                        request,
                        "trading/order_confirm.html",
                        {
                            **context,
                            "form": form,
                            "ticket": ticket,
                            "estimate": estimate,
                            "order_type_label": rules.order_type_label(
                                ticket.market, ticket.order_type
                            ),
                        },
                    )
                try:
                    placed = actions.place_order(
                        _user(request), credential, ticket, ip=audit.client_ip(request)
                    )
                except actions.TradingRefused as refusal:
                    form.add_error(None, refusal.message)
                else:
                    _announce(request, placed)
                    return redirect(placed.order)
            context["market_data"] = found
        status = 400
    else:
        initial: dict[str, str] = {
            "market": market,
            "venue": venue,
            "symbol": source.get("symbol", "").strip().upper(),
            "side": str(source.get("side")) if source.get("side") in Order.Side.values else "buy",
            "order_type": "00",
            "idempotency_key": new_idempotency_key(),
        }
        form = OrderTicketForm(initial=initial, environment=environment, order_types=offered)
        if initial["symbol"]:
            found = _read_market(
                credential,
                market,
                venue,
                initial["symbol"],
                initial["side"],
                None,
                "00",
                with_book=True,
            )
            context["market_data"] = found
            if found.price is not None:
                form.initial["price"] = found.price
            context["steps"] = _step_buttons(market, found.price)
        status = 200
    shown: Market | None = context.get("market_data")
    if shown is not None and shown.price is not None:
        context["tick"] = rules.tick_for(
            market,
            shown.price,
            shown.quote.tick_size if shown.quote else None,
            shown.price,
        )
    rates = rates_for(credential)
    context.update(
        form=form,
        offered=offered,
        rates_commission=str(rates.commission),
        rates_tax=str(rates.sell_tax_for(_listing(str(form["symbol"].value() or "")))),
    )
    return render(request, "trading/order_ticket.html", context, status=status)


_DOMESTIC_CODE = re.compile(r"[0-9A-Z]{6,9}")


def _listing(symbol: str) -> str:
    """KOSPI or KOSDAQ (the tax differs by listing) from the symbol master; "" unknown.
    The form's raw value may be anything a browser sent (a NUL byte breaks a PostgreSQL
    query): only a code-shaped value is looked up."""
    code = symbol.strip().upper()
    if not _DOMESTIC_CODE.fullmatch(code):
        return ""
    found: str | None = (
        Symbol.objects.filter(code=code, market__in=Symbol.DOMESTIC)
        .values_list("market", flat=True)
        .first()
    )
    return found or ""


def _announce(request: HttpRequest, placed: actions.Placed) -> None:
    order = placed.order
    if not placed.created:
        messages.info(request, _("This order was sent already; here is its result."))
    elif order.status == Order.Status.ACCEPTED:
        messages.success(
            request, _("KIS accepted the order (number %(no)s).") % {"no": order.kis_order_no}
        )
    elif order.status == Order.Status.REJECTED:
        messages.error(request, rules.rejection_advice(order.reject_code, order.reject_text))
    else:
        messages.warning(
            request,
            _("KIS's answer was lost. kisweb is checking KIS's own list; do not send it again."),
        )


# ---------------------------------------------------------------- orders


@login_required
@never_cache
def order_detail(request: HttpRequest, pk: object) -> HttpResponse:
    order = _owned_order(request, pk)
    return render(
        request,
        "trading/order_detail.html",
        {
            "order": order,
            "amend_key": new_idempotency_key(),
            "order_type_label": rules.order_type_label(order.market, order.order_type),
            "advice": rules.rejection_advice(order.reject_code, order.reject_text)
            if order.status == Order.Status.REJECTED
            else "",
            "amendments": order.amendments.order_by("created_at"),
        },
    )


@require_POST
@login_required
def order_cancel(request: HttpRequest, pk: object) -> HttpResponse:
    return _amend(request, pk, Order.Kind.CANCEL)


@require_POST
@login_required
def order_revise(request: HttpRequest, pk: object) -> HttpResponse:
    return _amend(request, pk, Order.Kind.REVISE)


def _amend(request: HttpRequest, pk: object, kind: str) -> HttpResponse:
    original = _owned_order(request, pk)
    form = AmendForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Reload the page: this form is out of date."))
        return redirect(original)
    key = form.cleaned_data["idempotency_key"]
    try:
        if kind == Order.Kind.CANCEL:
            placed = actions.cancel_order(
                _user(request), original, idempotency_key=key, ip=audit.client_ip(request)
            )
        else:
            price: Decimal | None = form.cleaned_data.get("price")
            rules.check_price(original.market, original.order_type, price)
            placed = actions.revise_order(
                _user(request),
                original,
                price=price or Decimal(0),
                idempotency_key=key,
                ip=audit.client_ip(request),
            )
    except rules.TicketRefused as refusal:
        messages.error(request, refusal.message)
        return redirect(original)
    except actions.TradingRefused as refusal:
        messages.error(request, refusal.message)
        return redirect(original)
    _announce(request, placed)
    return redirect("trading:order_list")


def _date_range(form: OrderFilterForm) -> tuple[dt.date, dt.date]:
    today = rules.kst_now().date()
    data = form.cleaned_data if form.is_valid() else {}
    end = data.get("end") or today
    start = data.get("start") or end
    if start > end:
        start, end = end, start
    return start, end


@login_required
@never_cache
def order_list(request: HttpRequest) -> HttpResponse:
    credential = current_credential(request)
    form = OrderFilterForm(request.GET or None)
    start, end = _date_range(form)
    data = form.cleaned_data if form.is_valid() else {}
    in_range = Order.objects.owned_by(request.user).filter(
        created_at__date__gte=start - dt.timedelta(days=1),
        created_at__date__lte=end + dt.timedelta(days=1),
    )
    orders = [
        order
        for order in in_range.select_related("original")
        if start <= order.created_at.astimezone(rules.KST).date() <= end
        and (not data.get("symbol") or order.symbol == data["symbol"])
        and (not data.get("status") or order.status == data["status"])
    ]
    if request.GET.get("export") == "csv":
        return _csv(orders, start, end)
    context: dict[str, Any] = {"form": form, "start": start, "end": end, "credential": credential}
    if credential is not None:
        if Order.objects.filter(credential=credential).unresolved().exists():
            result = actions.reconcile(credential, user=_user(request), ip=audit.client_ip(request))
            if result.changed:
                orders = [next((c for c in result.changed if c.pk == o.pk), o) for o in orders]
            if result.error is not None:
                context["reconcile_error"] = _kis_failure(result.error)
        context.update(_executions(credential, start, end, data.get("symbol", "")))
    context["open_orders"] = [o for o in orders if o.is_open]
    context["page"] = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    context["amend_key"] = new_idempotency_key()
    query = request.GET.copy()
    query.pop("page", None)
    context["query"] = query.urlencode()
    return render(request, "trading/order_list.html", context)


def _executions(
    credential: Credential, start: dt.date, end: dt.date, symbol: str
) -> dict[str, object]:
    async def read(client: KisClient) -> Executions:
        return await client.daily_executions(start, end, symbol=symbol)

    try:
        executions = actions.read_kis(credential, read)
    except (KisError, SecretUnavailable) as failure:
        return {"executions_error": _kis_failure(failure)}
    seen: set[tuple[str, str]] = set()
    rows = []
    for row in executions.rows:  # KIS can repeat a row across pages while the list changes
        if (str(row.order_date), row.order_no) in seen:
            continue
        seen.add((str(row.order_date), row.order_no))
        rows.append(row)
    return {"executions": rows, "executions_complete": executions.complete}


def _csv(orders: list[Order], start: dt.date, end: dt.date) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="orders-{start}-{end}.csv"'
    response.write("\ufeff")  # Excel opens UTF-8 with a BOM correctly (Korean names)
    writer = csv.writer(response)
    writer.writerow(
        [
            "created_kst", "client_order_id", "kind", "environment", "market", "venue", "side",
            "order_type", "symbol", "name", "price", "quantity", "status", "kis_order_no",
            "filled_quantity", "average_fill_price", "reject_code", "reject_text",
        ]
    )  # fmt: skip
    for order in orders:
        writer.writerow(
            [
                order.created_at.astimezone(rules.KST).strftime("%Y-%m-%d %H:%M:%S"),
                order.client_order_id,
                order.kind,
                order.environment,
                order.market,
                order.venue,
                order.side,
                order.order_type,
                order.symbol,
                order.symbol_name,
                _plain(order.price),
                order.quantity,
                order.status,
                order.kis_order_no,
                order.filled_quantity,
                _plain(order.average_fill_price),
                order.reject_code,
                order.reject_text,
            ]
        )
    return response


def _plain(number: Decimal) -> str:
    """A plain number for CSV: no separators, no exponent, no trailing zeros."""
    if number == number.to_integral_value():
        return str(number.quantize(Decimal(1)))
    return format(number.normalize(), "f")


@require_POST
@login_required
def reconcile_now(request: HttpRequest) -> HttpResponse:
    credential = current_credential(request)
    if credential is None:
        messages.error(request, _("Choose a credential you may use first."))
        return redirect("trading:order_list")
    result = actions.reconcile(
        credential, user=_user(request), now=timezone.now(), ip=audit.client_ip(request)
    )
    if result.error is not None:
        messages.error(
            request,
            _("KIS could not be asked now (%(code)s). Try again shortly.")
            % {"code": result.error.code},
        )
    elif result.changed:
        messages.success(
            request,
            _("Checked %(checked)d orders with KIS; %(changed)d changed.")
            % {"checked": result.checked, "changed": len(result.changed)},
        )
    else:
        messages.info(
            request,
            _("Checked %(checked)d orders with KIS; nothing changed.")
            % {"checked": result.checked},
        )
    return redirect("trading:order_list")


@login_required
def trading_help(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "trading/help.html",
        {
            "rows": rules.capability_rows(),
            "sessions": rules.SESSIONS,
            "paper_sessions": rules.PAPER_SESSIONS,
            "order_type_labels": rules.ORDER_TYPE_LABELS,
            "order_types": rules.order_type_rows(),
            "us_order_types": rules.US_ORDER_TYPE_LABELS.items(),
            "rates": rules.cost_rates(),
        },
    )


@login_required
@never_cache
def fee_settings(request: HttpRequest) -> HttpResponse:
    """The selected credential's commission and tax rates; "reset" goes back to the site's."""
    credential = current_credential(request)
    if credential is None:
        return _no_credential(request, "trading/fees.html")
    own = FeeSettings.objects.filter(credential=credential).first()
    if request.method == "POST":
        if "reset" in request.POST:
            if own is not None:
                own.delete()
                audit.record(
                    request.user, "trading.fees_reset", credential, ip=audit.client_ip(request)
                )
            messages.success(request, _("This credential uses the site's rates again."))
            return redirect("trading:fees")
        form = FeeSettingsForm(request.POST, instance=own or FeeSettings(credential=credential))
        if form.is_valid():
            saved = form.save()
            audit.record(
                request.user,
                "trading.fees_changed",
                credential,
                ip=audit.client_ip(request),
                rates={name: str(getattr(saved, name)) for name in FeeSettingsForm.Meta.fields},
            )
            messages.success(request, _("Rates saved. The order ticket estimates with them."))
            return redirect("trading:fees")
        status = 400
    else:
        form = FeeSettingsForm(instance=own, initial=None if own else FeeSettings.defaults())
        status = 200
    return render(
        request,
        "trading/fees.html",
        {"credential": credential, "form": form, "own": own},
        status=status,
    )
