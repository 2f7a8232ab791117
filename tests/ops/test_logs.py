"""JSON log lines: one per record, with the request id, and nothing secret in them."""

from __future__ import annotations

import json
import logging

import pytest

from kisweb.ops.logs import JsonFormatter, RequestIdFilter, request_id


def _format(record: logging.LogRecord) -> dict:
    RequestIdFilter().filter(record)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    return json.loads(line)


def _record(msg="hello", *args, **extra) -> logging.LogRecord:
    record = logging.makeLogRecord(
        {"name": "kisweb.test", "levelno": logging.INFO, "levelname": "INFO", "msg": msg}
    )
    record.args = args
    for name, value in extra.items():
        setattr(record, name, value)
    return record


def test_a_record_is_one_json_line_with_the_request_id():
    token = request_id.set("req-123")
    try:
        entry = _format(_record("order %s sent", 42))
    finally:
        request_id.reset(token)
    assert entry["message"] == "order 42 sent"
    assert entry["level"] == "INFO"
    assert entry["logger"] == "kisweb.test"
    assert entry["request_id"] == "req-123"
    assert entry["ts"].endswith("+00:00")


def test_a_typed_line_break_stays_inside_one_line():
    entry = _format(_record("sign-in by %s", "mallory\n2026-01-01 ERROR forged"))
    assert entry["message"] == "sign-in by mallory\n2026-01-01 ERROR forged"


def test_extras_named_like_secrets_and_url_passwords_are_hidden():
    entry = _format(
        _record(
            "connecting to %s",
            "redis://:s3cr3t-pw@cache:6379/0",
            app_secret="SECRET-VALUE",
            approval_key="APPROVAL-VALUE",
            symbol="005930",
        )
    )
    text = json.dumps(entry)
    assert "s3cr3t-pw" not in text
    assert "SECRET-VALUE" not in text and "APPROVAL-VALUE" not in text
    assert entry["symbol"] == "005930"
    assert entry["app_secret"] == "********"
    assert entry["message"] == "connecting to redis://:********@cache:6379/0"


def test_a_traceback_is_kept_without_url_passwords():
    try:
        raise ConnectionError("no route to postgres://kis:pw-in-url@db/kisweb")
    except ConnectionError:
        record = _record("failed")
        import sys

        record.exc_info = sys.exc_info()
    entry = _format(record)
    assert "ConnectionError" in entry["exc"]
    assert "pw-in-url" not in entry["exc"]


@pytest.mark.django_db
def test_the_middleware_sets_and_echoes_a_request_id(client, caplog):
    caplog.set_level("INFO")
    seen = []

    class Catch(logging.Handler):
        def emit(self, record):
            seen.append(getattr(record, "request_id", ""))

    handler = Catch()
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("accounts.audit")
    logger.addHandler(handler)
    try:
        response = client.get("/healthz")
        made = response["X-Request-ID"]
        assert len(made) == 32
        assert client.get("/healthz")["X-Request-ID"] != made  # one per request

        kept = client.get("/healthz", HTTP_X_REQUEST_ID="proxy-abc.123")
        assert kept["X-Request-ID"] == "proxy-abc.123"
        # A failed sign-in writes an audit line while the request runs: it carries the id.
        client.post(
            "/accounts/login/",
            {"username": "nobody", "password": "guess"},
            HTTP_X_REQUEST_ID="signin-req-1",
        )
    finally:
        logger.removeHandler(handler)
    assert "signin-req-1" in seen


@pytest.mark.django_db
@pytest.mark.parametrize("given", ["a b", "x" * 65, "evil\r\nSet-Cookie: x=1", "ü"])
def test_an_unfit_request_id_is_replaced(client, given):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=given)
    assert response.status_code == 200
    assert response["X-Request-ID"] != given
    assert len(response["X-Request-ID"]) == 32
