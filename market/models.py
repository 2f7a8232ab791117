"""The symbol master: every instrument a person can look up, watch or trade.

Rows come from KIS's published master files (``manage.py loadsymbols``); the order ticket,
the quote page and the relay all ask this table whether a code exists and where it trades,
so an exchange is never guessed from the shape of a code.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Symbol(models.Model):
    class Market(models.TextChoices):
        KOSPI = "KOSPI", "KOSPI"
        KOSDAQ = "KOSDAQ", "KOSDAQ"
        KONEX = "KONEX", "KONEX"
        NASD = "NASD", "NASDAQ"
        NYSE = "NYSE", "NYSE"
        AMEX = "AMEX", "AMEX"

    class Kind(models.TextChoices):
        STOCK = "stock", _("Stock")
        ETF = "etf", "ETF"
        ETN = "etn", "ETN"
        OTHER = "other", _("Other")

    DOMESTIC = frozenset({Market.KOSPI, Market.KOSDAQ, Market.KONEX})

    code = models.CharField(_("code"), max_length=16)
    market = models.CharField(_("market"), max_length=8, choices=Market.choices)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.STOCK)
    standard_code = models.CharField(_("standard code (ISIN)"), max_length=12, blank=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("symbol")
        verbose_name_plural = _("symbols")
        ordering = ("market", "code")
        constraints = (
            models.UniqueConstraint(fields=["market", "code"], name="symbol_unique_per_market"),
        )
        indexes = (models.Index(fields=["code"], name="market_symbol_code_idx"),)

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def is_domestic(self) -> bool:
        return self.market in self.DOMESTIC
