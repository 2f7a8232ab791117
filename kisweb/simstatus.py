"""Asks the local simulator how it is, for the demo's home page."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from django.conf import settings

FAULT_SWITCHES = ("hang", "http_500", "rate_limit_all", "lose_order_answers", "schema_drift")


@dataclass(frozen=True)
class SimulatorStatus:
    reachable: bool
    url: str
    market_open: bool = False
    symbols: int = 0
    realtime_sessions: int = 0
    faults_on: tuple[str, ...] = ()


def simulator_status(timeout_s: float = 0.5) -> SimulatorStatus:
    """The paper endpoint's `/__sim__/status`, read defensively: whatever it answers, the
    home page renders."""
    url = settings.KISWEB_KIS_ENDPOINTS["paper"]["rest"]
    try:
        answer = httpx.get(f"{url}/__sim__/status", timeout=timeout_s)
        answer.raise_for_status()
        detail = answer.json()
    except (httpx.HTTPError, ValueError):
        return SimulatorStatus(reachable=False, url=url)
    if not isinstance(detail, dict):
        return SimulatorStatus(reachable=False, url=url)
    clock = _mapping(detail.get("clock"))
    faults = _mapping(detail.get("faults"))
    return SimulatorStatus(
        reachable=True,
        url=url,
        market_open=clock.get("session") == "open",
        symbols=_count(detail.get("symbols")),
        realtime_sessions=_count(detail.get("sessions")),
        faults_on=tuple(name for name in FAULT_SWITCHES if faults.get(name)),
    )


def _mapping(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _count(value: object) -> int:
    return value if isinstance(value, int) and value >= 0 else 0
