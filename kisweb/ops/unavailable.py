"""A database or Redis that cannot be reached answers 503 with a page saying so, not a 500.

PostgreSQL or Redis restarting or failing over is gone for seconds. Whoever meets that should read
that the service is briefly unavailable and to try again, and a proxy or a client should
see ``Retry-After``. The page renders without the request (its context processors would
ask the database again). Orders stay whole: the journal commits before KIS is called, so
an order is either in the journal or was never sent, and the same form posted again finds
its row by the idempotency key instead of sending twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis.exceptions
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template import loader

log = logging.getLogger(__name__)

RETRY_AFTER_S = 10
UNREACHABLE = (
    OperationalError,
    InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def unavailable() -> HttpResponse:
    response = HttpResponse(loader.render_to_string("errors/503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_S)
    return response


class DatabaseUnavailableMiddleware:
    """Turns a view's lost database or Redis connection into the 503 page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, UNREACHABLE):
            return None
        log.error("service unavailable: %s", type(exception).__name__)
        return unavailable()
