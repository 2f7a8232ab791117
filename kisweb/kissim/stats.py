"""Counters tests read to assert on what reached the simulator (not what a client believes)."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestRecord:
    t: float  # time.monotonic() when the request arrived (the rate window's clock)
    env: str
    appkey: str
    path: str
    tr_id: str
    status: int
    msg_cd: str
    connection: int = 0  # which TCP connection carried it, numbered from 1 per simulator


class Stats:
    """Thread-safe counters and a request log, read by tests and benchmarks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: deque[RequestRecord] = deque(maxlen=200_000)
        self._tokens: Counter[str] = Counter()
        self._token_requests: Counter[str] = Counter()
        self._approvals: Counter[str] = Counter()
        self._orders: Counter[str] = Counter()
        self._sessions: Counter[str] = Counter()
        self._opens: dict[str, list[float]] = {}
        self._refusals: Counter[str] = Counter()
        self._registrations: Counter[tuple[str, str, str]] = Counter()

    def record_request(self, record: RequestRecord) -> None:
        with self._lock:
            self._requests.append(record)

    def requests(
        self, appkey: str | None = None, path: str | None = None, tr_id: str | None = None
    ) -> list[RequestRecord]:
        with self._lock:
            rows = list(self._requests)
        return [
            r
            for r in rows
            if (appkey is None or r.appkey == appkey)
            and (path is None or r.path == path)
            and (tr_id is None or r.tr_id == tr_id)
        ]

    def count_token_issue(self, appkey: str) -> None:
        with self._lock:
            self._tokens[appkey] += 1

    def count_token_request(self, appkey: str) -> None:
        with self._lock:
            self._token_requests[appkey] += 1

    def count_approval_issue(self, appkey: str) -> None:
        with self._lock:
            self._approvals[appkey] += 1

    def count_order(self, appkey: str) -> None:
        with self._lock:
            self._orders[appkey] += 1

    def session_opened(self, appkey: str) -> None:
        with self._lock:
            self._sessions[appkey] += 1
            self._opens.setdefault(appkey, []).append(time.monotonic())

    def session_closed(self, appkey: str) -> None:
        with self._lock:
            self._sessions[appkey] -= 1

    def connections(self, appkey: str) -> int:
        """How many TCP connections carried this app key's API requests."""
        return len({r.connection for r in self.requests(appkey=appkey)})

    def session_refused(self, appkey: str) -> None:
        with self._lock:
            self._refusals[appkey] += 1

    def registration_made(self, appkey: str, tr_id: str, tr_key: str) -> None:
        with self._lock:
            self._registrations[(appkey, tr_id, tr_key)] += 1

    def token_issues(self, appkey: str) -> int:
        return self._tokens[appkey]

    def token_requests(self, appkey: str) -> int:
        """Every token ask for this app key, minted, handed back or refused: KIS notifies
        the user of each, so clients should ask once (``token_issues`` counts mints)."""
        return self._token_requests[appkey]

    def approval_issues(self, appkey: str) -> int:
        return self._approvals[appkey]

    def orders_received(self, appkey: str) -> int:
        """Orders that reached the matching engine (accepted or rejected by it)."""
        return self._orders[appkey]

    def ws_sessions(self, appkey: str) -> int:
        """WebSocket sessions bound to this app key that are open now."""
        return self._sessions[appkey]

    def session_opens(self, appkey: str) -> list[float]:
        """When each session bound to this app key opened (``time.monotonic()``, as the
        request log): how often a client reconnected, read where it arrived."""
        with self._lock:
            return list(self._opens.get(appkey, ()))

    def session_refusals(self, appkey: str) -> int:
        """Sessions refused because another was bound to the app key (OPSP8996)."""
        return self._refusals[appkey]

    def registrations(self, appkey: str, tr_id: str, tr_key: str) -> int:
        """Subscribes to (tr_id, tr_key) this app key's sessions made, each one acked."""
        return self._registrations[(appkey, tr_id, tr_key)]

    def reset(self) -> None:
        """Forget history; open sessions stay counted because they are still open."""
        with self._lock:
            self._requests.clear()
            self._tokens.clear()
            self._token_requests.clear()
            self._approvals.clear()
            self._orders.clear()
            self._refusals.clear()
            self._registrations.clear()
            self._opens.clear()
