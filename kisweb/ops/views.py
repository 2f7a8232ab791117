"""`/healthz`, `/readyz` and `/metrics`.

`/healthz` answers while the process runs and touches nothing (the proxy's liveness
probe). `/readyz` checks each part a request may need and says which is down, with 503
when any is: a proxy stops sending traffic to a process that is not ready. The answers
name parts and error classes only, never a URL, a host or a message.
`/metrics` is for the scraper: staff signed in, or ``Authorization: Bearer`` with
``KISWEB_METRICS_TOKEN``; anyone else gets 403.
"""

from __future__ import annotations

import hmac
from typing import Any

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from kisweb.ops import heartbeat, metrics

REDIS_TIMEOUT_S = 1.0


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True}


def _redis() -> dict[str, Any]:
    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=REDIS_TIMEOUT_S,
        socket_connect_timeout=REDIS_TIMEOUT_S,
    )
    try:
        client.ping()
    except redis.RedisError as error:
        return {"ok": False, "error": type(error).__name__}
    finally:
        client.close()
    return {"ok": True}


def _heartbeat(name: str, database_ok: bool) -> dict[str, Any]:
    if not database_ok:
        return {"ok": False, "error": "database"}
    try:
        at = heartbeat.last(name)
    except DatabaseError as error:
        return {"ok": False, "error": type(error).__name__}
    if at is None:
        return {"ok": False, "error": "never"}
    age = (timezone.now() - at).total_seconds()
    return {"ok": age <= settings.KISWEB_HEARTBEAT_STALE_S, "age_s": round(age, 1)}


def readiness() -> dict[str, dict[str, Any]]:
    checks = {"database": _database()}
    if settings.REDIS_URL:
        checks["redis"] = _redis()
    for name in settings.KISWEB_READY_HEARTBEATS:
        checks[name] = _heartbeat(name, checks["database"]["ok"])
    return checks


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    checks = readiness()
    ready = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "down", "checks": checks}, status=200 if ready else 503
    )


def _may_scrape(request: HttpRequest) -> bool:
    token = settings.KISWEB_METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_staff)


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _may_scrape(request):
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    body, content_type = metrics.exposition()
    return HttpResponse(body, content_type=content_type)
