"""Numbers the Korean way: won without decimals, red ▲ for up, blue ▼ for down.

Every filter takes int, Decimal, float or a numeric string; None or anything that is not a
number renders as an em dash, so a missing quote never looks like a price of 0.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import template

register = template.Library()

MISSING = "—"
UP, DOWN = "▲", "▼"


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _won(number: Decimal) -> str:
    whole = number.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"{whole:,.0f}"


@register.filter
def krw(value: Any) -> str:
    """``1234567.5`` -> ``1,234,568``; ``-5000`` -> ``-5,000``. Won have no decimals."""
    number = _decimal(value)
    return MISSING if number is None else _won(number)


@register.filter
def change(value: Any) -> str:
    """A signed change in won: ``▲1,200``, ``▼350`` or ``0``."""
    number = _decimal(value)
    if number is None:
        return MISSING
    rounded = _won(abs(number))
    if rounded == "0":
        return "0"
    return f"{UP if number > 0 else DOWN}{rounded}"


@register.filter
def change_class(value: Any) -> str:
    """The CSS class for a change: ``up`` (red), ``down`` (blue) or ``flat``."""
    number = _decimal(value)
    if not number:
        return "flat"
    return "up" if number > 0 else "down"


@register.filter
def percent(value: Any) -> str:
    """A rate with two decimals and its sign: ``+1.25%``, ``-0.40%``, ``0.00%``."""
    number = _decimal(value)
    if number is None:
        return MISSING
    rounded = number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if not rounded:
        return "0.00%"
    return f"{rounded:+,.2f}%"
