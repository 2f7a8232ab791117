"""The symbol master and people's watchlists.

Symbol rows come from KIS's published master files (``manage.py loadsymbols``); the order
ticket, the quote page and the relay all ask this table whether a code exists and where it
trades, so an exchange is never guessed from the shape of a code.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# KRX unified tick table since 2023-01-25 (docs/kis-protocol.md §8): (below price, tick).
KRX_STOCK_TICKS: tuple[tuple[Decimal, Decimal], ...] = (
    (Decimal(2_000), Decimal(1)),
    (Decimal(5_000), Decimal(5)),
    (Decimal(20_000), Decimal(10)),
    (Decimal(50_000), Decimal(50)),
    (Decimal(200_000), Decimal(100)),
    (Decimal(500_000), Decimal(500)),
)
KRX_STOCK_TOP_TICK = Decimal(1_000)

# Order exchange (OVRS_EXCG_CD) <-> quote exchange (EXCD), docs/kis-protocol.md §4.3.
US_QUOTE_EXCHANGE = {"NASD": "NAS", "NYSE": "NYS", "AMEX": "AMS"}
US_ORDER_EXCHANGE = {quote: order for order, quote in US_QUOTE_EXCHANGE.items()}


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

    class TickRule(models.TextChoices):
        # KRX stocks step by the unified table; ETFs/ETNs by 5 KRW (1 KRW under 2,000),
        # which docs/kis-protocol.md §8 marks unconfirmed (KIS's aspr_unit wins when known).
        KRX_STOCK = "krx", _("KRX stock table")
        KRX_ETP = "krx_etp", _("KRX ETF/ETN")
        US = "us", _("US cents")

    DOMESTIC = frozenset({Market.KOSPI, Market.KOSDAQ, Market.KONEX})
    US = frozenset({Market.NASD, Market.NYSE, Market.AMEX})

    code = models.CharField(_("code"), max_length=16)
    market = models.CharField(_("market"), max_length=8, choices=Market.choices)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.STOCK)
    standard_code = models.CharField(_("standard code (ISIN)"), max_length=12, blank=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="KRW")
    tick_rule = models.CharField(
        _("tick rule"), max_length=8, choices=TickRule.choices, default=TickRule.KRX_STOCK
    )
    lot_size = models.PositiveIntegerField(_("lot size"), default=1)
    base_price = models.DecimalField(
        _("base price"), max_digits=16, decimal_places=4, null=True, blank=True
    )
    is_halted = models.BooleanField(_("trading halted"), default=False)
    # False when the last full load of its market's master file no longer lists it: kept
    # (watchlists and orders point at it) but no longer offered by search.
    is_active = models.BooleanField(_("listed"), default=True)
    # Search keys, written by market.symbols.search_keys(): the name without spaces in lower
    # case, and its initial consonants (초성) one character for one, so "ㅅ성" can be matched
    # position by position against the name.
    search_name = models.CharField(max_length=100, blank=True, editable=False)
    initials = models.CharField(max_length=100, blank=True, editable=False, db_index=True)
    search_name_en = models.CharField(max_length=100, blank=True, editable=False)

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

    def save(self, *args: object, **kwargs: object) -> None:
        from market.symbols import search_keys

        self.search_name, self.initials, self.search_name_en = search_keys(self.name, self.name_en)
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def is_domestic(self) -> bool:
        return self.market in self.DOMESTIC

    @property
    def is_us(self) -> bool:
        return self.market in self.US

    @property
    def order_exchange(self) -> str:
        """``OVRS_EXCG_CD`` for US orders and balances (NASD/NYSE/AMEX); "" for KRX."""
        return self.market if self.is_us else ""

    @property
    def quote_exchange(self) -> str:
        """``EXCD`` for US quotes and realtime keys (NAS/NYS/AMS); "" for KRX."""
        return US_QUOTE_EXCHANGE.get(self.market, "")

    def tick_size(self, price: Decimal) -> Decimal:
        """The price step at ``price`` under this symbol's rule."""
        if self.tick_rule == self.TickRule.US:
            return Decimal("0.01") if price >= 1 else Decimal("0.0001")
        if self.tick_rule == self.TickRule.KRX_ETP:
            return Decimal(1) if price < 2_000 else Decimal(5)
        for below, tick in KRX_STOCK_TICKS:
            if price < below:
                return tick
        return KRX_STOCK_TOP_TICK


class WatchlistQuerySet(models.QuerySet["Watchlist"]):
    def owned_by(self, user: object) -> WatchlistQuerySet:
        return self.filter(owner_id=getattr(user, "pk", None))


class Watchlist(models.Model):
    """A person's named, ordered list of symbols."""

    MAX_PER_USER = 20
    MAX_SYMBOLS = 50

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watchlists"
    )
    name = models.CharField(_("name"), max_length=40)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WatchlistQuerySet.as_manager()

    class Meta:
        verbose_name = _("watchlist")
        verbose_name_plural = _("watchlists")
        ordering = ("owner", "position", "id")
        constraints = (
            models.UniqueConstraint(fields=["owner", "name"], name="watchlist_name_per_owner"),
        )

    def __str__(self) -> str:
        return self.name


class WatchlistItem(models.Model):
    watchlist = models.ForeignKey(Watchlist, on_delete=models.CASCADE, related_name="items")
    symbol = models.ForeignKey(Symbol, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField(default=0)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("watchlist entry")
        verbose_name_plural = _("watchlist entries")
        ordering = ("watchlist", "position", "id")
        constraints = (
            models.UniqueConstraint(fields=["watchlist", "symbol"], name="watchlist_symbol_once"),
        )

    def __str__(self) -> str:
        return f"{self.watchlist_id}: {self.symbol_id}"
