"""The KRX calendar: which dates the market opens, from KIS's ``chk-holiday`` (CTCA0903R).

KIS serves the TR on the real host only and asks callers to make it about once a day
(docs/kis-protocol.md §4.2, §6), so its answer is kept in ``MarketDay`` (one row per date)
and refreshed at most once a day per site (a cache mark), from a real credential. Paper
credentials cannot ask: the table still answers for dates it holds, and without a row the
rules fall back to weekdays only — ``DayStatus.source`` says which, so the ticket can say so.

The ticket asks for today's status on every post; ``day_status`` keeps each date's answer in
Django's cache for ``DAY_TTL_S`` under the date itself, so a new KST day is a new key and is
never served the day before's status. Saving or deleting a ``MarketDay`` forgets its date
(``_forget_day``: a refresh, from the ticket or the admin, or a row the admin deleted). The
cache is each process's own memory (the settings name no shared one), so a change made by
another process is seen here once the TTL has run out: at most a minute late, and the table
is refreshed about once a day.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.translation import gettext as _

from accounts.models import Credential
from accounts.secrets import SecretUnavailable
from kisweb.kis import KisClient, KisError
from kisweb.kis import MarketDay as KisMarketDay
from trading.models import MarketDay

log = logging.getLogger(__name__)

KST = dt.timezone(dt.timedelta(hours=9), "KST")
REFRESHED_MARK = "trading:calendar:refreshed:{day}"
MARK_TTL_S = 26 * 3600
DAY_KEY = "trading:calendar:day:{day}"
DAY_TTL_S = 60  # how late another process's change to the table may be seen here

KIS = "kis"
WEEKDAYS = "weekdays"


@dataclass(frozen=True)
class DayStatus:
    day: dt.date
    open: bool
    source: str  # KIS (a chk-holiday row) or WEEKDAYS (no row: weekends only)

    @property
    def note(self) -> str:
        if self.source == KIS:
            return _("Trading days come from KIS's holiday calendar (chk-holiday).")
        return _(
            "KRX holidays are not known for this date (paper accounts cannot ask KIS's "
            "holiday calendar): only weekends count as closed."
        )

    @property
    def closed_reason(self) -> str:
        if self.open:
            return ""
        if self.day.weekday() >= 5:
            return _("The market is closed today (weekend). Orders open on the next trading day.")
        return _("The market is closed today (KRX holiday). Orders open on the next trading day.")


def day_status(day: dt.date) -> DayStatus:
    """The calendar's word for ``day``: its ``MarketDay`` row, else weekdays only (kept for
    ``DAY_TTL_S``; the module docstring says why that is safe)."""
    key = DAY_KEY.format(day=day)
    status: DayStatus | None = cache.get(key)
    if status is None:
        row = MarketDay.objects.filter(day=day).only("is_open").first()
        if row is not None:
            status = DayStatus(day, row.is_open, KIS)
        else:
            status = DayStatus(day, day.weekday() < 5, WEEKDAYS)
        cache.set(key, status, DAY_TTL_S)
    return status


@receiver([post_save, post_delete], sender=MarketDay, dispatch_uid="trading.calendar_forget")
def _forget_day(sender: type[MarketDay], instance: MarketDay, **kwargs: Any) -> None:
    """A stored date changed: its kept status goes now, and again once the change commits
    (a ticket reading between the two would have kept the row as it was before)."""
    key = DAY_KEY.format(day=instance.day)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


def kst_today() -> dt.date:
    return dt.datetime.now(KST).date()


def store(days: list[KisMarketDay]) -> int:
    """Upsert KIS's rows; returns how many dates were written."""
    with transaction.atomic():
        for kis_day in days:
            MarketDay.objects.update_or_create(
                day=kis_day.day,
                defaults={
                    "weekday_code": kis_day.weekday_code,
                    "is_open": kis_day.open,
                    "is_business_day": kis_day.business_day,
                    "is_trading_day": kis_day.trading_day,
                    "is_settlement_day": kis_day.settlement_day,
                },
            )
    return len(days)


def refresh(credential: Credential, base: dt.date | None = None) -> int:
    """Ask KIS for the calendar from ``base`` (today, KST) with ``credential`` (real only)
    and store it. Raises ``KisError`` (``NotSupported`` for a paper credential)."""
    from trading.actions import read_kis  # actions imports the models; keep this lazy

    start = base or kst_today()

    async def read(client: KisClient) -> list[KisMarketDay]:
        return await client.market_days(start)

    written = store(read_kis(credential, read))
    cache.set(REFRESHED_MARK.format(day=start.isoformat()), True, MARK_TTL_S)
    return written


def refresh_daily(credential: Credential) -> None:
    """Refresh once a day per site when ``credential`` can (real, enabled); a failure only
    logs: the table and the weekday rule still answer."""
    today = kst_today()
    if not credential.is_real or not credential.is_enabled:
        return
    if not cache.add(REFRESHED_MARK.format(day=today.isoformat()), True, MARK_TTL_S):
        return  # refreshed today already, or another request is doing it
    try:
        refresh(credential, today)
    except (KisError, SecretUnavailable) as failure:
        cache.delete(REFRESHED_MARK.format(day=today.isoformat()))
        log.warning("trading: chk-holiday refresh failed (%s)", type(failure).__name__)
