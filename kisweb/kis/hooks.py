"""Callbacks the host application sets to observe the client: metrics without Django here.

``hooks`` is one process-wide object; kisweb sets its fields at start-up (``kisweb.ops``)
and the library calls them. Each callback must be cheap and must not raise; a failure in
one is logged and swallowed, so observing never changes what a call does. Nothing secret
is passed: a TR ID, a result code, a token kind, seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass
class Hooks:
    # (tr_id or "oauth", result: "ok" or the KisError code, seconds on the wire)
    on_call: Callable[[str, str, float], None] | None = None
    # (seconds a call waited for the rate limiter; only called when it waited)
    on_rate_wait: Callable[[float], None] | None = None
    # (token kind: "access" or "approval") after a new issue was stored
    on_token_issue: Callable[[str], None] | None = None


hooks = Hooks()


def call(tr_id: str, result: str, seconds: float) -> None:
    if hooks.on_call is not None:
        try:
            hooks.on_call(tr_id, result, seconds)
        except Exception:
            log.exception("the on_call hook failed")


def rate_wait(seconds: float) -> None:
    if hooks.on_rate_wait is not None:
        try:
            hooks.on_rate_wait(seconds)
        except Exception:
            log.exception("the on_rate_wait hook failed")


def token_issue(kind: str) -> None:
    if hooks.on_token_issue is not None:
        try:
            hooks.on_token_issue(kind)
        except Exception:
            log.exception("the on_token_issue hook failed")
