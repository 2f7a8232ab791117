"""Forms parse the ticket; ``trading.rules`` judges it; ``trading.actions`` sends it."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from trading import rules
from trading.actions import Ticket
from trading.models import Order

KRX_SYMBOL = re.compile(r"[0-9A-Z]{6,7}", re.ASCII)
US_SYMBOL = re.compile(r"[A-Z][A-Z.]{0,11}", re.ASCII)
IDEMPOTENCY_KEY = re.compile(r"[0-9a-f]{32}", re.ASCII)
# The venues each market's orders go to (docs/kis-protocol.md): a link or a post naming
# another market's venue is never used as it is.
MARKET_VENUES: dict[str, tuple[str, ...]] = {
    Order.Market.KRX: ("KRX", "NXT", "SOR"),
    Order.Market.US: ("NASD", "NYSE", "AMEX"),
}
# The order list's filter: kisweb's own years. The list widens a range by a day either
# side (KST against UTC), which the calendar's first and last days could not take.
FIRST_FILTER_DATE = dt.date(2000, 1, 1)
LAST_FILTER_DATE = dt.date(2099, 12, 31)


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


class IdempotencyKeyField(forms.CharField):
    widget = forms.HiddenInput

    def clean(self, value: object) -> str:
        cleaned = str(super().clean(value) or "")
        if not IDEMPOTENCY_KEY.fullmatch(cleaned):
            raise forms.ValidationError(_("Reload the page: this form is out of date."))
        return cleaned


ORDER_TYPE_CHOICES = [
    (code, format_lazy("{} {}", code, label)) for code, label in rules.ORDER_TYPE_LABELS.items()
]
US_ONLY_TYPE_CHOICES = [
    (code, format_lazy("{} {}", code, label))
    for code, label in rules.US_ORDER_TYPE_LABELS.items()
    if code not in rules.ORDER_TYPE_LABELS
]


class OrderTicketForm(forms.Form):
    market = forms.ChoiceField(label=_("Market"), choices=Order.Market.choices)
    venue = forms.ChoiceField(
        label=_("Venue"),
        choices=Order.Venue.choices,
        initial="KRX",
        help_text=_("KRX, NXT or SOR for Korean stocks; the exchange for US stocks."),
    )
    symbol = forms.CharField(label=_("Symbol"), max_length=12)
    side = forms.ChoiceField(
        label=_("Side"), choices=Order.Side.choices, widget=forms.RadioSelect, initial="buy"
    )
    order_type = forms.ChoiceField(label=_("Order type"), choices=ORDER_TYPE_CHOICES, initial="00")
    price = forms.DecimalField(
        label=_("Price"), required=False, min_value=Decimal(0), max_digits=14, decimal_places=4
    )
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=10_000_000)
    idempotency_key = IdempotencyKeyField()
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        environment: str = rules.PAPER,
        order_types: tuple[str, ...] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.environment = environment
        self.fields["quantity"].error_messages["min_value"] = _(
            "The quantity must be a whole number of shares, 1 or more."
        )
        self.fields["quantity"].error_messages["invalid"] = _(
            "The quantity must be a whole number of shares, 1 or more."
        )
        choices = ORDER_TYPE_CHOICES + US_ONLY_TYPE_CHOICES
        if order_types is not None:
            choices = [choice for choice in choices if choice[0] in order_types]
        cast(forms.ChoiceField, self.fields["order_type"]).choices = choices

    def clean_symbol(self) -> str:
        return str(self.cleaned_data["symbol"]).strip().upper()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        market, symbol = data.get("market"), data.get("symbol")
        if market and symbol:
            pattern = US_SYMBOL if market == Order.Market.US else KRX_SYMBOL
            if not pattern.fullmatch(symbol):
                self.add_error(
                    "symbol",
                    _("Enter a US ticker such as AAPL.")
                    if market == Order.Market.US
                    else _("Enter a six-digit KRX code such as 005930."),
                )
        venue = data.get("venue")
        if market == Order.Market.US and venue not in MARKET_VENUES[market]:
            self.add_error("venue", _("Choose the US exchange the stock is listed on."))
        if market == Order.Market.KRX and venue not in MARKET_VENUES[market]:
            self.add_error("venue", _("Choose KRX, NXT or SOR."))
        order_type = data.get("order_type")
        if order_type and rules.needs_price(order_type, market or "KRX") and not data.get("price"):
            self.add_error("price", _("Enter a price above zero for this order type."))
        return data

    def ticket(self, symbol_name: str = "") -> Ticket:
        data = self.cleaned_data
        price = data.get("price") or Decimal(0)
        return Ticket(
            market=data["market"],
            venue=data["venue"],
            side=data["side"],
            order_type=data["order_type"],
            symbol=data["symbol"],
            quantity=data["quantity"],
            price=price if rules.needs_price(data["order_type"], data["market"]) else Decimal(0),
            idempotency_key=data["idempotency_key"],
            symbol_name=symbol_name,
        )


class AmendForm(forms.Form):
    """Cancel (no price) or revise (a new price) what remains of an open order."""

    idempotency_key = IdempotencyKeyField()
    price = forms.DecimalField(
        label=_("New price"), required=False, min_value=Decimal(0), max_digits=14, decimal_places=4
    )


def _filter_date(label: Any) -> forms.DateField:
    outside = _("Enter a date from 2000 to 2099.")
    return forms.DateField(
        label=label,
        required=False,
        widget=forms.DateInput({"type": "date"}),
        validators=[
            MinValueValidator(FIRST_FILTER_DATE, message=outside),
            MaxValueValidator(LAST_FILTER_DATE, message=outside),
        ],
    )


class OrderFilterForm(forms.Form):
    start = _filter_date(_("From"))
    end = _filter_date(_("To"))
    symbol = forms.CharField(label=_("Symbol"), required=False, max_length=12)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), *Order.Status.choices],
    )

    def clean_symbol(self) -> str:
        return str(self.cleaned_data["symbol"]).strip().upper()
