"""Prometheus metrics, one definition for every process kind.

Per process by default: each web process, the relay and the worker count their own, and
`/metrics` on a process shows that process. With ``PROMETHEUS_MULTIPROC_DIR`` set (an empty
directory per host, cleared at boot) prometheus_client writes the counts to shared files and
`/metrics` on any web process of that host sums every process (README, "Hosting").

The relay increments the ``RELAY_*`` metrics defined here; the KIS client reports through
``kisweb.kis.hooks``, which stays free of Django and of this library.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

from kisweb.kis import hooks as kis_hooks

_FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "kisweb_http_requests", "HTTP requests answered", ["method", "view", "status"]
)
HTTP_SECONDS = Histogram(
    "kisweb_http_request_seconds", "Time to answer an HTTP request", ["method"], buckets=_FAST
)
KIS_CALLS = Counter(
    "kisweb_kis_calls", "Calls to KIS's REST API by TR ID and result", ["tr_id", "result"]
)
KIS_SECONDS = Histogram(
    "kisweb_kis_call_seconds", "Time on the wire of one KIS call", ["tr_id"], buckets=_FAST
)
RATE_LIMIT_WAITS = Counter(
    "kisweb_rate_limit_waits", "KIS calls that waited for the per-app-key rate limiter"
)
RATE_LIMIT_WAIT_SECONDS = Histogram(
    "kisweb_rate_limit_wait_seconds", "How long a call waited for the rate limiter", buckets=_FAST
)
TOKEN_ISSUES = Counter("kisweb_token_issues", "Access tokens and approval keys issued", ["kind"])
TASKS_STARTED = Counter("kisweb_tasks_started", "Background tasks started", ["task"])
TASKS_FINISHED = Counter(
    "kisweb_tasks_finished", "Background tasks finished by outcome", ["task", "status"]
)
TASKS_REQUEUED = Counter(
    "kisweb_tasks_requeued", "Tasks of a dead worker put back in the queue", ["task"]
)
# For the relay (`manage.py runrelay`, and the demo's in-process hub).
RELAY_SOCKETS = Gauge("kisweb_relay_sockets", "Browser sockets open", multiprocess_mode="livesum")
# No app key as a label: keys are shown masked everywhere else, and a scrape is not the place.
RELAY_REGISTRATIONS = Gauge(
    "kisweb_relay_registrations",
    "Upstream realtime registrations held (all app keys)",
    multiprocess_mode="livesum",
)
RELAY_FRAMES = Counter(
    "kisweb_relay_frames_fanned_out", "Frames delivered to browser sockets", ["stream"]
)
RELAY_DROPS = Counter("kisweb_relay_drops", "Frames not delivered, by reason", ["reason"])
RELAY_RECONNECTS = Counter(
    "kisweb_relay_reconnects", "Upstream realtime sessions reopened after a loss"
)


def _on_call(tr_id: str, result: str, seconds: float) -> None:
    KIS_CALLS.labels(tr_id=tr_id, result=result).inc()
    KIS_SECONDS.labels(tr_id=tr_id).observe(seconds)


def _on_rate_wait(seconds: float) -> None:
    RATE_LIMIT_WAITS.inc()
    RATE_LIMIT_WAIT_SECONDS.observe(seconds)


def _on_token_issue(kind: str) -> None:
    TOKEN_ISSUES.labels(kind=kind).inc()


def _task_name(task_result: object) -> str:
    task = getattr(task_result, "task", None)
    return str(getattr(task, "name", "unknown"))


def _on_task_started(sender: object, task_result: object, **kwargs: object) -> None:
    TASKS_STARTED.labels(task=_task_name(task_result)).inc()


def _on_task_finished(sender: object, task_result: object, **kwargs: object) -> None:
    status = str(getattr(task_result, "status", "unknown")).lower()
    TASKS_FINISHED.labels(task=_task_name(task_result), status=status).inc()


def install() -> None:
    """Connect the KIS client's hooks and the task signals (once, at app start-up)."""
    kis_hooks.hooks.on_call = _on_call
    kis_hooks.hooks.on_rate_wait = _on_rate_wait
    kis_hooks.hooks.on_token_issue = _on_token_issue
    from django_tasks_db.compat import task_finished, task_started

    task_started.connect(_on_task_started, dispatch_uid="kisweb.ops.metrics.started")
    task_finished.connect(_on_task_finished, dispatch_uid="kisweb.ops.metrics.finished")


def exposition() -> tuple[bytes, str]:
    """The text a scrape gets: this process, or every process of the host in multiprocess
    mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
