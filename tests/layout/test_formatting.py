"""Market number filters: won with separators, ▲ red up, ▼ blue down."""

from decimal import Decimal

import pytest
from django.template import Context, Template

from kisweb.templatetags.kisweb_format import change, change_class, krw, percent


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0, "0"),
        (70100, "70,100"),
        (-5000, "-5,000"),
        (1234567890123, "1,234,567,890,123"),
        (Decimal("1234567.5"), "1,234,568"),
        (Decimal("-1234.4"), "-1,234"),
        (Decimal("0.4"), "0"),
        ("81500", "81,500"),
        ("1,000", "1,000"),
        (12.5, "13"),
        (None, "—"),
        ("", "—"),
        ("abc", "—"),
        (Decimal("NaN"), "—"),
        (True, "—"),
    ],
)
def test_krw(value, shown):
    assert krw(value) == shown


@pytest.mark.parametrize(
    ("value", "shown", "css_class"),
    [
        (0, "0", "flat"),
        (Decimal("0.00"), "0", "flat"),
        (1200, "▲1,200", "up"),
        (-350, "▼350", "down"),
        (Decimal("-1234567"), "▼1,234,567", "down"),
        (Decimal("99999999999"), "▲99,999,999,999", "up"),
        ("-10", "▼10", "down"),
        (None, "—", "flat"),
    ],
)
def test_change_and_its_class(value, shown, css_class):
    assert change(value) == shown
    assert change_class(value) == css_class


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0, "0.00%"),
        (Decimal("1.245"), "+1.25%"),
        (Decimal("-0.4"), "-0.40%"),
        (Decimal("-0.004"), "0.00%"),
        (Decimal("29.99"), "+29.99%"),
        (1234.5, "+1,234.50%"),
        (None, "—"),
    ],
)
def test_percent(value, shown):
    assert percent(value) == shown


def test_filters_in_a_template():
    template = Template(
        "{% load kisweb_format %}"
        '<td class="num {{ diff|change_class }}">{{ price|krw }} {{ diff|change }} '
        "{{ rate|percent }}</td>"
    )
    html = template.render(
        Context({"price": Decimal("70100"), "diff": Decimal("-900"), "rate": Decimal("-1.27")})
    )
    assert html == '<td class="num down">70,100 ▼900 -1.27%</td>'
