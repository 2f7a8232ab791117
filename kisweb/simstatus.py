"""Asks the local simulator how it is, for the demo's home page."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from django.conf import settings


@dataclass(frozen=True)
class SimulatorStatus:
    reachable: bool
    url: str
    detail: dict


def simulator_status(timeout_s: float = 0.5) -> SimulatorStatus:
    url = settings.KISWEB_KIS_ENDPOINTS["paper"]["rest"]
    try:
        answer = httpx.get(f"{url}/__sim__/status", timeout=timeout_s)
        answer.raise_for_status()
        detail = answer.json()
    except (httpx.HTTPError, ValueError):
        return SimulatorStatus(reachable=False, url=url, detail={})
    if not isinstance(detail, dict):
        detail = {}
    return SimulatorStatus(reachable=True, url=url, detail=detail)
