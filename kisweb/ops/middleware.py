"""A request id per request, and the request counters.

An ``X-Request-ID`` from the proxy is kept when it is a plain token (letters, digits,
``.-_``, at most 64), so one id follows a request through nginx and kisweb; otherwise a new
one is made. The id is echoed in the answer's ``X-Request-ID`` and put on every log line
written while the request runs.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from kisweb.ops import metrics
from kisweb.ops.logs import request_id

_ACCEPTABLE = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Any other method is counted as "other": a label per invented method would grow forever.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _incoming(request: HttpRequest) -> str:
    given = request.headers.get("X-Request-ID", "")
    return given if _ACCEPTABLE.fullmatch(given) else uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        rid = _incoming(request)
        request.request_id = rid  # type: ignore[attr-defined]
        token = request_id.set(rid)
        started = time.monotonic()
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(token)
        response["X-Request-ID"] = rid
        match = getattr(request, "resolver_match", None)
        view = (match.view_name if match is not None else "") or "unmatched"
        method = request.method if request.method in _METHODS else "other"
        metrics.HTTP_REQUESTS.labels(
            method=method, view=view, status=str(response.status_code)
        ).inc()
        metrics.HTTP_SECONDS.labels(method=method).observe(time.monotonic() - started)
        return response
