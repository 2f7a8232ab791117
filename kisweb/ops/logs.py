"""Structured logs: one JSON object per line, with the request id, and nothing secret.

``JsonFormatter`` writes ``ts, level, logger, message, request_id`` plus the record's
extras and the exception text. Secrets are kept out twice: the loggers that would print
them stay at WARNING (settings.LOGGING), and here every extra whose name looks secret is
replaced, and passwords in URLs (``redis://:pw@host``) are cut from the message and the
traceback, with the same rules as the error reports (``accounts.reporting``). JSON
escaping keeps a typed line break from forging a second line.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
from typing import Any

# The current request's id; set by ``kisweb.ops.middleware.RequestIdMiddleware``. Channels
# and asgiref copy the context into the threads that run sync views, so it follows them.
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

# The attributes every LogRecord has; anything else came in through ``extra=``.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_HIDDEN = "********"


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (``%(request_id)s`` in plain logs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = request_id.get()
        return True


def _rules() -> tuple[Any, Any]:
    # Imported late: LOGGING is configured before the apps are loaded.
    from accounts.reporting import _HIDDEN_NAMES, _URL_PASSWORD

    return _HIDDEN_NAMES, _URL_PASSWORD


def _scrub_text(text: str) -> str:
    _, url_password = _rules()
    return url_password.sub(r"\g<head>" + _HIDDEN + "@", text)


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        hidden_names, _ = _rules()
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": _scrub_text(record.getMessage()),
            "request_id": getattr(record, "request_id", "") or request_id.get(),
            "pid": record.process,
        }
        for name, value in vars(record).items():
            if name in _STANDARD or name in entry or name.startswith("_"):
                continue
            entry[name] = _HIDDEN if hidden_names.search(name) else _plain(value)
        if record.exc_info:
            entry["exc"] = _scrub_text(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = _scrub_text(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
