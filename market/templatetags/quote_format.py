"""Prices in their own currency, written exactly as ``static/js/live-prices.js`` writes
them, so the first streamed tick never changes a cell's width or shape."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from kisweb.templatetags.kisweb_format import DOWN, MISSING, UP, _decimal, krw

register = template.Library()


def usd(number: Decimal) -> str:
    """``189.8400`` -> ``189.84``; ``0.1234`` stays; at least two decimals, thousands
    separated."""
    text = format(number.normalize(), "f") if number else "0"
    whole, _, fraction = text.partition(".")
    fraction = fraction.ljust(2, "0")
    sign = "-" if whole.startswith("-") else ""
    return f"{sign}{int(whole.lstrip('-') or 0):,}.{fraction}"


@register.filter
def money(value: Any, currency: str = "KRW") -> str:
    """A price or amount: won without decimals, dollars with two or more."""
    number = _decimal(value)
    if number is None:
        return MISSING
    return usd(number) if currency == "USD" else krw(number)


@register.filter
def signed_money(value: Any, currency: str = "KRW") -> str:
    """A change with its arrow: ``▲500``, ``▼1.25``, ``0``."""
    number = _decimal(value)
    if number is None:
        return MISSING
    if not number:
        return "0"
    return f"{UP if number > 0 else DOWN}{money(abs(number), currency)}"


@register.filter
def bar_width(quantity: Any, largest: Any) -> int:
    """A book level's bar in whole percent of the largest level (for ``data-width``)."""
    q, top = _decimal(quantity), _decimal(largest)
    if not q or not top:
        return 0
    return int(min(Decimal(100), q * 100 / top))
