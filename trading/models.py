"""The order journal: one row per order, revise or cancel a person asked for.

A row is committed as ``pending_send`` before KIS hears of it, so an order is never lost
(a crash leaves the row) and never doubled (the idempotency key is unique per owner). Only
``trading.actions`` writes these rows, and it moves ``status`` with conditional updates.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.models import Credential
from trading import rules


class OrderQuerySet(models.QuerySet["Order"]):
    def owned_by(self, user: AbstractBaseUser | AnonymousUser) -> OrderQuerySet:
        """Every query that touches orders starts here."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(owner_id=user.pk)

    def unresolved(self) -> OrderQuerySet:
        """Rows whose state KIS still has to tell us: unsent, unknown, or still open."""
        return self.filter(status__in=Order.UNRESOLVED)


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING_SEND = "pending_send", _("Sending")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")
        UNKNOWN = "unknown", _("Unknown — checking with KIS")
        PARTIALLY_FILLED = "partially_filled", _("Partially filled")
        FILLED = "filled", _("Filled")
        CANCELLED = "cancelled", _("Cancelled")

    class Kind(models.TextChoices):
        NEW = "new", _("New order")
        REVISE = "revise", _("Revise")
        CANCEL = "cancel", _("Cancel")

    class Market(models.TextChoices):
        KRX = "KRX", _("Korea (KRX)")
        US = "US", _("United States")

    class Venue(models.TextChoices):
        """``EXCG_ID_DVSN_CD`` for domestic orders; US orders keep their exchange code."""

        KRX = "KRX", "KRX"
        NXT = "NXT", "NXT"
        SOR = "SOR", "SOR"
        NASD = "NASD", "NASDAQ"
        NYSE = "NYSE", "NYSE"
        AMEX = "AMEX", "AMEX"

    class Side(models.TextChoices):
        BUY = "buy", _("Buy")
        SELL = "sell", _("Sell")

    # Statuses after which KIS will not change the row any more.
    FINAL = (Status.REJECTED, Status.FILLED, Status.CANCELLED)
    UNRESOLVED = (
        Status.PENDING_SEND,
        Status.UNKNOWN,
        Status.ACCEPTED,
        Status.PARTIALLY_FILLED,
    )

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client_order_id = models.CharField(_("client order id"), max_length=32, editable=False)
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="orders",
        verbose_name=_("owner"),
    )
    credential = models.ForeignKey(
        Credential, on_delete=models.PROTECT, related_name="orders", verbose_name=_("credential")
    )
    environment = models.CharField(
        _("environment"), max_length=8, choices=Credential.Environment.choices
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.NEW)
    original = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="amendments",
        verbose_name=_("original order"),
    )
    market = models.CharField(_("market"), max_length=4, choices=Market.choices)
    venue = models.CharField(_("venue"), max_length=4, choices=Venue.choices, default=Venue.KRX)
    side = models.CharField(_("side"), max_length=4, choices=Side.choices)
    order_type = models.CharField(_("order type"), max_length=2, help_text="ORD_DVSN")
    symbol = models.CharField(_("symbol"), max_length=12)
    symbol_name = models.CharField(_("name"), max_length=100, blank=True)
    price = models.DecimalField(_("price"), max_digits=18, decimal_places=4, default=Decimal(0))
    quantity = models.PositiveIntegerField(_("quantity"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING_SEND
    )
    kis_order_no = models.CharField(_("KIS order number"), max_length=16, blank=True)
    kis_branch_no = models.CharField(_("KIS order branch"), max_length=8, blank=True)
    kis_message = models.CharField(_("KIS message"), max_length=200, blank=True)
    reject_code = models.CharField(_("reject code"), max_length=16, blank=True)
    reject_text = models.CharField(_("reject text"), max_length=200, blank=True)
    filled_quantity = models.PositiveIntegerField(_("filled quantity"), default=0)
    average_fill_price = models.DecimalField(
        _("average fill price"), max_digits=18, decimal_places=4, default=Decimal(0)
    )
    # What execution notices alone have reported (their sum). Notices carry no fill id, so
    # they cannot be matched to KIS's daily list; both are lower bounds of the truth, and
    # filled_quantity is the larger (trading/notices.py, trading.actions._apply).
    notice_filled_quantity = models.PositiveIntegerField(_("filled quantity by notices"), default=0)
    notice_fill_amount = models.DecimalField(
        _("filled amount by notices"), max_digits=22, decimal_places=4, default=Decimal(0)
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(_("answered"), null=True, blank=True)
    reconciled_at = models.DateTimeField(_("last reconciled"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ("-created_at",)
        indexes = (
            models.Index(fields=["owner", "-created_at"], name="trading_order_owner_idx"),
            models.Index(fields=["credential", "status"], name="trading_order_status_idx"),
        )
        constraints = (
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"], name="%(app_label)s_%(class)s_idempotent"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="%(app_label)s_%(class)s_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(kind="new", original__isnull=True)
                | Q(~Q(kind="new"), original__isnull=False),
                name="%(app_label)s_%(class)s_amendment_has_original",
            ),
        )

    def __str__(self) -> str:
        return f"{self.get_side_display()} {self.symbol} × {self.quantity} ({self.client_order_id})"

    def get_absolute_url(self) -> str:
        return reverse("trading:order_detail", args=[self.pk])

    @property
    def is_paper(self) -> bool:
        return self.environment == Credential.Environment.PAPER

    @property
    def is_open(self) -> bool:
        """KIS holds a remaining quantity that may still be revised or cancelled."""
        return (
            self.kind != self.Kind.CANCEL
            and bool(self.kis_order_no)
            and self.status in (self.Status.ACCEPTED, self.Status.PARTIALLY_FILLED)
        )

    @property
    def remaining_quantity(self) -> int:
        return max(self.quantity - self.filled_quantity, 0)

    @property
    def amount(self) -> Decimal:
        return self.price * self.quantity


class MarketDay(models.Model):
    """One date of the KRX calendar as KIS's ``chk-holiday`` (CTCA0903R) answered it.

    Filled by ``trading.calendar.refresh`` (the ticket, once a day per site, or the admin's
    refresh action); the session rules ask ``trading.calendar.day_status``. Dates without a
    row fall back to weekdays-only, and the ticket says so."""

    day = models.DateField(_("date"), unique=True)
    weekday_code = models.CharField(_("weekday code"), max_length=2, blank=True)
    is_open = models.BooleanField(_("market open"), help_text="opnd_yn")
    is_business_day = models.BooleanField(_("business day"), help_text="bzdy_yn")
    is_trading_day = models.BooleanField(_("trading day"), help_text="tr_day_yn")
    is_settlement_day = models.BooleanField(_("settlement day"), help_text="sttl_day_yn")
    fetched_at = models.DateTimeField(_("fetched"), auto_now=True)

    class Meta:
        verbose_name = _("market day")
        verbose_name_plural = _("market calendar")
        ordering = ("day",)

    def __str__(self) -> str:
        return f"{self.day} {'open' if self.is_open else 'closed'}"


StrOrPromise = Any  # a str or a lazy translation


def _pct_field(label: StrOrPromise, default: str, help_text: StrOrPromise) -> models.DecimalField:
    return models.DecimalField(
        label,
        max_digits=10,
        decimal_places=7,
        default=Decimal(default),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(5))],
        help_text=help_text,
    )


class FeeSettings(models.Model):
    """One credential's commission and tax rates, in percent as brokers print them.

    Without a row the ticket uses the site's rates (``trading.rules.cost_rates``); the
    defaults here are the same documented ones (docs/trading-costs.md). The securities
    transaction tax changes by law, and accounts negotiate their own commission."""

    credential = models.OneToOneField(
        Credential,
        on_delete=models.CASCADE,
        related_name="fee_settings",
        verbose_name=_("credential"),
    )
    commission_pct = _pct_field(
        _("commission (Korea, %)"), "0.0140527", _("Charged on buys and sells, in percent.")
    )
    kospi_sell_tax_pct = _pct_field(
        _("tax on KOSPI sells (%)"),
        "0.20",
        _("Securities transaction tax with the rural development tax, in percent."),
    )
    kosdaq_sell_tax_pct = _pct_field(
        _("tax on KOSDAQ sells (%)"), "0.20", _("Securities transaction tax, in percent.")
    )
    us_commission_pct = _pct_field(
        _("commission (US, %)"), "0.25", _("Charged on US buys and sells, in percent.")
    )
    us_sell_fee_pct = _pct_field(
        _("SEC fee on US sells (%)"), "0.00278", _("Regulatory fee on US sells, in percent.")
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("fee settings")
        verbose_name_plural = _("fee settings")

    def __str__(self) -> str:
        return str(self.credential)

    @classmethod
    def defaults(cls) -> dict[str, Decimal]:
        """The site's rates as this model's fields (what a new row starts from)."""
        site = rules.cost_rates()

        def pct(fraction: Decimal) -> Decimal:  # 0.000140527 -> 0.0140527, not 0.014052700
            return Decimal(format((fraction * 100).quantize(Decimal("1E-7")).normalize(), "f"))

        return {
            "commission_pct": pct(site.commission),
            "kospi_sell_tax_pct": pct(site.sell_tax),
            "kosdaq_sell_tax_pct": pct(site.sell_tax_for("KOSDAQ")),
            "us_commission_pct": pct(site.us_commission),
            "us_sell_fee_pct": pct(site.us_sell_fee),
        }

    def rates(self) -> rules.CostRates:
        def fraction(pct: Decimal) -> Decimal:  # 0.5000000 % -> 0.005 (plain digits for JS)
            return Decimal(format((Decimal(pct) / 100).normalize(), "f"))

        return rules.CostRates(
            commission=fraction(self.commission_pct),
            sell_tax=fraction(self.kospi_sell_tax_pct),
            kosdaq_sell_tax=fraction(self.kosdaq_sell_tax_pct),
            us_commission=fraction(self.us_commission_pct),
            us_sell_fee=fraction(self.us_sell_fee_pct),
        )


def rates_for(credential: Credential) -> rules.CostRates:
    """The rates the ticket estimates with: the credential's own, else the site's."""
    own = FeeSettings.objects.filter(credential=credential).first()
    return own.rates() if own is not None else rules.cost_rates()
