"""When the simulated KRX is open (docs/kis-protocol.md §8 hours, §5 closed-market answers).

`always` keeps the market open whenever the simulator runs, which is what demos and most
tests want. `krx` follows the regular session 09:00–15:30 KST on weekdays outside a short
holiday list; tests inject `now` to stand anywhere in the week.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from enum import Enum

KST = dt.timezone(dt.timedelta(hours=9), "KST")

try:  # US exchange dates and times (§4.3: overseas order dates are local exchange dates)
    from zoneinfo import ZoneInfo

    US_EASTERN: dt.tzinfo = ZoneInfo("America/New_York")
except Exception:  # pragma: no cover - no tz database: EST all year
    US_EASTERN = dt.timezone(dt.timedelta(hours=-5), "EST")


def us_local(moment: dt.datetime) -> dt.datetime:
    """The New York wall clock at `moment` (an aware datetime)."""
    return moment.astimezone(US_EASTERN)


# KRX closures in 2025–2027 that fall on weekdays (not exhaustive; enough for tests and demos).
KRX_HOLIDAYS = frozenset(
    dt.date.fromisoformat(d)
    for d in (
        "2025-01-01", "2025-01-28", "2025-01-29", "2025-01-30", "2025-03-03", "2025-05-05",
        "2025-05-06", "2025-06-03", "2025-06-06", "2025-08-15", "2025-10-03", "2025-10-06",
        "2025-10-07", "2025-10-08", "2025-10-09", "2025-12-25", "2025-12-31",
        "2026-01-01", "2026-02-16", "2026-02-17", "2026-02-18", "2026-03-02", "2026-05-01",
        "2026-05-05", "2026-05-25", "2026-06-03", "2026-08-17", "2026-09-24", "2026-09-25",
        "2026-10-05", "2026-10-09", "2026-12-25", "2026-12-31",
        "2027-01-01", "2027-02-08", "2027-02-09", "2027-03-01", "2027-05-05", "2027-05-13",
        "2027-06-03", "2027-08-16", "2027-09-14", "2027-09-15", "2027-09-16", "2027-10-04",
        "2027-10-11", "2027-12-27", "2027-12-31",
    )
)  # fmt: skip

OPEN_AT = dt.time(9, 0)
CLOSE_AT = dt.time(15, 30)


class Session(Enum):
    OPEN = "open"
    PRE_OPEN = "pre_open"  # a trading day, before 09:00
    CLOSED = "closed"  # a trading day, after 15:30
    HOLIDAY = "holiday"  # weekend or KRX holiday


def kst_now() -> dt.datetime:
    return dt.datetime.now(KST)


class Clock:
    """The simulator's idea of 'now' (always KST) and of the KRX session state."""

    def __init__(self, mode: str = "always", now: Callable[[], dt.datetime] | None = None):
        if mode not in ("always", "krx"):
            raise ValueError("clock must be 'always' or 'krx'")
        self.mode = mode
        self._now = now or kst_now

    def now(self) -> dt.datetime:
        moment = self._now()
        if moment.tzinfo is None:
            return moment.replace(tzinfo=KST)
        return moment.astimezone(KST)

    def session(self) -> Session:
        if self.mode == "always":
            return Session.OPEN
        moment = self.now()
        if moment.weekday() >= 5 or moment.date() in KRX_HOLIDAYS:
            return Session.HOLIDAY
        if moment.time() < OPEN_AT:
            return Session.PRE_OPEN
        if moment.time() >= CLOSE_AT:
            return Session.CLOSED
        return Session.OPEN

    @property
    def is_open(self) -> bool:
        return self.session() is Session.OPEN

    def order_session(self, env: str, venue: str, ord_dvsn: str) -> Session:
        """Whether an order of type `ord_dvsn` on `venue` is taken now (docs/kis-protocol.md
        §8). Paper takes the KRX regular session only; real also takes the off-hours
        sessions and NXT's pre- and after-market, each with its own order types."""
        state = self.session()
        if self.mode == "always" or state is Session.HOLIDAY:
            return state
        if env == "paper":
            return state
        now = self.now().time()
        if any(
            start <= now < end and ord_dvsn in types
            for start, end, types in ORDER_WINDOWS.get(venue, ())
        ):
            return Session.OPEN
        return Session.PRE_OPEN if now < OPEN_AT else Session.CLOSED


def _hm(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


_CONTINUOUS = ("00", "01", "02", "03", "04", "11", "12", "13", "14", "15", "16")
# (start, end, ORD_DVSN taken) per EXCG_ID_DVSN_CD on the real host. KRX: pre-market
# off-hours 05 at the prior close, the opening call, the continuous session, the closing
# call, post-market off-hours 06 at the close, after-hours single price 07. NXT: pre-market,
# main market and after-market; SOR routes during the main session only.
ORDER_WINDOWS: dict[str, tuple[tuple[dt.time, dt.time, frozenset[str]], ...]] = {
    "KRX": (
        (_hm("08:30"), _hm("08:40"), frozenset({"05"})),
        (_hm("08:30"), _hm("09:00"), frozenset({"00", "01", "02"})),
        (OPEN_AT, _hm("15:20"), frozenset(_CONTINUOUS)),
        (_hm("15:20"), CLOSE_AT, frozenset({"00", "01", "02"})),
        (_hm("15:40"), _hm("16:00"), frozenset({"06"})),
        (_hm("16:00"), _hm("18:00"), frozenset({"07"})),
    ),
    "NXT": (
        (_hm("08:00"), _hm("08:50"), frozenset({"00"})),
        (OPEN_AT, _hm("15:20"), frozenset({"00", "03", "04", "11", "12", "13", "14", "15", "16"})),
        (CLOSE_AT, _hm("20:00"), frozenset({"00"})),
    ),
    "SOR": (
        (
            OPEN_AT,
            _hm("15:20"),
            frozenset({"00", "01", "03", "04", "11", "12", "13", "14", "15", "16"}),
        ),
    ),
}


# KRX's year-end closure is a bank business day on which the exchange stays shut.
_OPEN_BUSINESS_DAYS = frozenset(d for d in KRX_HOLIDAYS if (d.month, d.day) == (12, 31))


def market_day(day: dt.date) -> dict[str, str]:
    """One `chk-holiday` row for `day` (CTCA0903R, docs/kis-protocol.md §4.2). The weekday
    code counts from Sunday 01 to Saturday 07."""
    weekend = day.weekday() >= 5
    closed = weekend or day in KRX_HOLIDAYS
    business = not weekend and (day not in KRX_HOLIDAYS or day in _OPEN_BUSINESS_DAYS)
    yn = {True: "Y", False: "N"}
    return {
        "bass_dt": day.strftime("%Y%m%d"),
        "wday_dvsn_cd": f"{(day.isoweekday() % 7) + 1:02d}",
        "bzdy_yn": yn[business],
        "tr_day_yn": yn[business],
        "opnd_yn": yn[not closed],
        "sttl_day_yn": yn[not closed],
    }
