"""TR IDs per operation and environment, current generation (docs/kis-protocol.md §3.5, §4).

``None`` on the paper side means KIS offers no paper version of that operation.
"""

from __future__ import annotations

from dataclasses import dataclass

from .credentials import Environment
from .errors import NotSupported


@dataclass(frozen=True, slots=True)
class TrId:
    real: str
    paper: str | None
    name: str

    def offered_for(self, env: Environment) -> bool:
        return env is Environment.REAL or self.paper is not None

    def not_offered(self) -> NotSupported:
        return NotSupported("PAPER", f"{self.name} is not offered for paper (모의투자) accounts")

    def for_env(self, env: Environment) -> str:
        """The TR ID to send; an operation checks ``offered_for`` first, so reaching a
        missing paper TR here is a caller's mistake and still refused."""
        if env is Environment.REAL:
            return self.real
        if self.paper is None:
            raise self.not_offered()
        return self.paper


# Domestic quotations: same TR on both hosts (§3.5, §4.2).
PRICE = TrId("FHKST01010100", "FHKST01010100", "current price")
ASKING_PRICE = TrId("FHKST01010200", "FHKST01010200", "order book")
DAILY_CHART = TrId("FHKST03010100", "FHKST03010100", "daily candles")
MINUTE_CHART = TrId("FHKST03010200", "FHKST03010200", "minute candles")
# Real host only (§4.2): the KRX calendar (call about once a day) and product names.
MARKET_CALENDAR = TrId("CTCA0903R", None, "holiday check")
PRODUCT_INFO = TrId("CTPF1604R", None, "product info")

# Domestic orders and account (§4.1).
CASH_BUY = TrId("TTTC0012U", "VTTC0012U", "cash buy")
CASH_SELL = TrId("TTTC0011U", "VTTC0011U", "cash sell")
REVISE_CANCEL = TrId("TTTC0013U", "VTTC0013U", "revise/cancel")
REVISABLE_ORDERS = TrId("TTTC0084R", None, "revisable orders")
DAILY_EXECUTIONS = TrId("TTTC0081R", "VTTC0081R", "daily executions")
DAILY_EXECUTIONS_OLD = TrId("CTSC9215R", "VTSC9215R", "daily executions (> 3 months)")
BALANCE = TrId("TTTC8434R", "VTTC8434R", "balance")
BUYABLE = TrId("TTTC8908R", "VTTC8908R", "buyable amount")

# Overseas (US) (§4.3). Paper US sell is VTTT1001U, not the V-prefixed real TR.
US_PRICE = TrId("HHDFS00000300", "HHDFS00000300", "US current price")
US_DAILY_CHART = TrId("HHDFS76240000", "HHDFS76240000", "US daily candles")
US_BUY = TrId("TTTT1002U", "VTTT1002U", "US buy")
US_SELL = TrId("TTTT1006U", "VTTT1001U", "US sell")
US_REVISE_CANCEL = TrId("TTTT1004U", "VTTT1004U", "US revise/cancel")
US_BALANCE = TrId("TTTS3012R", "VTTS3012R", "US balance")
US_EXECUTIONS = TrId("TTTS3035R", "VTTS3035R", "US executions")
