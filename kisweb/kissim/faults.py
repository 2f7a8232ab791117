"""Fault switches that tests and the `/__sim__/faults` endpoint flip to prove recovery.

Plain attributes are read on every request, so setting them from any thread takes effect
on the next request; the methods hand their work to the simulator's loop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Faults:
    """The simulator's fault switches; see the module docstring for threading."""

    def __init__(self) -> None:
        self.hang = False  # accept the request, never answer
        self.http_500 = False  # every KIS path answers 500 with EGW00002
        self.rate_limit_all = False  # every KIS path answers EGW00201
        self.schema_drift: dict[str, int] = {}  # tr_id -> extra realtime fields appended
        self._lost_answers = 0
        self._data_changed = 0
        self._lock = threading.Lock()
        self._on_drop: Callable[[], None] | None = None
        self._on_expire: Callable[[], None] | None = None
        self._on_malformed: Callable[[], None] | None = None

    @property
    def lose_order_answers(self) -> int:
        """The next N orders reach the book, but their HTTP connection closes unanswered."""
        return self._lost_answers

    @lose_order_answers.setter
    def lose_order_answers(self, count: int) -> None:
        with self._lock:
            self._lost_answers = int(count)

    @property
    def data_changed(self) -> int:
        """The next N continued inquiries (``tr_cont: N``) answer SYDB0050, "조회이후에
        자료가 변경되었습니다": the list changed since its first page; start again."""
        return self._data_changed

    @data_changed.setter
    def data_changed(self, count: int) -> None:
        with self._lock:
            self._data_changed = int(count)

    def take_data_changed(self) -> bool:
        with self._lock:
            if self._data_changed > 0:
                self._data_changed -= 1
                return True
            return False

    def bind(
        self,
        on_drop: Callable[[], None],
        on_expire: Callable[[], None],
        on_malformed: Callable[[], None],
    ) -> None:
        """Connect the action switches to the simulator that owns them."""
        self._on_drop, self._on_expire, self._on_malformed = on_drop, on_expire, on_malformed

    def take_lost_answer(self) -> bool:
        with self._lock:
            if self._lost_answers > 0:
                self._lost_answers -= 1
                return True
            return False

    def drop_sockets(self) -> None:
        """Close every WebSocket session and every in-flight HTTP connection now."""
        if self._on_drop:
            self._on_drop()

    def expire_tokens(self) -> None:
        """Every access token issued so far answers EGW00123 from now on."""
        if self._on_expire:
            self._on_expire()

    def send_malformed_frame(self) -> None:
        """Push one data frame that breaks the `enc|TR|NNN|payload` shape to every session."""
        if self._on_malformed:
            self._on_malformed()

    def reset(self) -> None:
        self.hang = False
        self.http_500 = False
        self.rate_limit_all = False
        self.schema_drift = {}
        self.lose_order_answers = 0
        self.data_changed = 0

    def snapshot(self) -> dict[str, object]:
        return {
            "hang": self.hang,
            "http_500": self.http_500,
            "rate_limit_all": self.rate_limit_all,
            "lose_order_answers": self.lose_order_answers,
            "data_changed": self.data_changed,
            "schema_drift": dict(self.schema_drift),
        }
