"""Every test's output searched for the secrets the suite hands out.

The simulator is the only source of app secrets, access tokens and approval keys in the
suite, so this plugin notes each one as it is made (``make_account``, the token store).
After each test it searches what the test produced — every log line as the project's
JSON formatter writes it (extras and tracebacks included), every page and header the
Django test clients got back, every message a WebSocket consumer sent, and pytest's
captured stdout, stderr and log — and fails the test that let one through, naming where.

What it does not see: bodies sent *to* the simulator (secrets belong there), pages a
browser test's Chromium got (their server's log lines are searched), and output of child
processes that a test reads without printing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest

# Long enough that a match is the secret, not chance; short enough to catch a cut copy.
PREFIX_LEN = 24


class _Secrets:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, str] = {}  # secret -> what it is

    def add(self, kind: str, value: str) -> None:
        if len(value) >= PREFIX_LEN:
            with self._lock:
                self._values[value] = kind

    def __len__(self) -> int:
        return len(self._values)

    def found_in(self, text: str) -> list[str]:
        with self._lock:
            values = list(self._values.items())
        found = set()
        for value, kind in values:
            if value[:PREFIX_LEN] in text:
                found.add(kind if value in text else f"{kind} (its first {PREFIX_LEN} characters)")
            elif kind == "access token" and value.rsplit(".", 1)[-1][:PREFIX_LEN] in text:
                # The JWT header is the same for every token; the signature is not.
                found.add("access token signature")
        return sorted(found)


SECRETS = _Secrets()


class _Output:
    """What the running test produced, as (where, text) pairs; emptied after each test."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parts: list[tuple[str, str]] = []

    def add(self, where: str, text: str) -> None:
        with self._lock:
            self._parts.append((where, text))

    def take(self) -> list[tuple[str, str]]:
        with self._lock:
            parts, self._parts = self._parts, []
        return parts


OUTPUT = _Output()
SEARCHED = {"tests": 0, "outputs": 0, "characters": 0}


class _LogTap(logging.Handler):
    """Formats every record the project's loggers let through as a hosted log line."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        from kisweb.ops.logs import JsonFormatter, RequestIdFilter

        self.setFormatter(JsonFormatter())
        self.addFilter(RequestIdFilter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            OUTPUT.add(f"log line ({record.name})", self.format(record))
        except Exception as error:  # a record that cannot be formatted is itself news
            OUTPUT.add(f"log line ({record.name})", f"unformattable: {error!r} {record.msg!r}")


def _response_text(response) -> str:
    headers = "\n".join(f"{name}: {value}" for name, value in response.items())
    if getattr(response, "streaming", False):
        return headers
    return headers + "\n" + response.content.decode("utf-8", "replace")


def _tap_simulator(monkeypatch: pytest.MonkeyPatch) -> None:
    import kisweb.kissim
    from kisweb.kissim import accounts, oauth

    real_make_account = accounts.make_account

    def make_account(*args, **kwargs):
        account = real_make_account(*args, **kwargs)
        SECRETS.add("app secret", account.appsecret)
        return account

    monkeypatch.setattr(accounts, "make_account", make_account)
    monkeypatch.setattr(kisweb.kissim, "make_account", make_account)
    for account in accounts.DEMO_ACCOUNTS:
        SECRETS.add("app secret", account.appsecret)

    from kisweb.kissim.server import Simulator

    real_add_account = Simulator.add_account

    def add_account(self, account, *args, **kwargs):
        SECRETS.add("app secret", account.appsecret)
        return real_add_account(self, account, *args, **kwargs)

    monkeypatch.setattr(Simulator, "add_account", add_account)

    real_mint = oauth.TokenStore._mint
    real_issue_approval = oauth.TokenStore.issue_approval

    def mint(self, appkey, env, now):
        token = real_mint(self, appkey, env, now)
        SECRETS.add("access token", token.value)
        return token

    def issue_approval(self, appkey):
        key = real_issue_approval(self, appkey)
        SECRETS.add("approval key", key)
        return key

    monkeypatch.setattr(oauth.TokenStore, "_mint", mint)
    monkeypatch.setattr(oauth.TokenStore, "issue_approval", issue_approval)


def _tap_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    from channels.testing import ApplicationCommunicator
    from django.test import client

    real_request = client.Client.request
    real_async_request = client.AsyncClient.request
    real_receive_output = ApplicationCommunicator.receive_output

    def request(self, **kwargs):
        response = real_request(self, **kwargs)
        OUTPUT.add(f"response to {kwargs.get('PATH_INFO', '?')}", _response_text(response))
        return response

    async def async_request(self, **kwargs):
        response = await real_async_request(self, **kwargs)
        OUTPUT.add(f"response to {kwargs.get('path', '?')}", _response_text(response))
        return response

    async def receive_output(self, *args, **kwargs):
        message = await real_receive_output(self, *args, **kwargs)
        OUTPUT.add("message from a consumer", repr(message))
        return message

    monkeypatch.setattr(client.Client, "request", request)
    monkeypatch.setattr(client.AsyncClient, "request", async_request)
    monkeypatch.setattr(ApplicationCommunicator, "receive_output", receive_output)


_SIMULATOR_TAP = pytest.MonkeyPatch()


def pytest_configure(config):
    """Before collection: test modules import ``make_account`` when they are collected."""
    _tap_simulator(_SIMULATOR_TAP)


def pytest_unconfigure(config):
    _SIMULATOR_TAP.undo()


@pytest.fixture(scope="session", autouse=True)
def _secret_taps(django_test_environment) -> Iterator[None]:
    """Installed once Django is set up (the log formatter reads the apps)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _tap_clients(monkeypatch)
        tap = _LogTap()
        logging.getLogger().addHandler(tap)
        try:
            yield
        finally:
            logging.getLogger().removeHandler(tap)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if call.when != "teardown":
        return
    parts = OUTPUT.take()
    parts += [(f"pytest's {kind}", text) for _, kind, text in item._report_sections]
    SEARCHED["tests"] += 1
    SEARCHED["outputs"] += len(parts)
    SEARCHED["characters"] += sum(len(text) for _, text in parts)
    leaks = [(where, kinds) for where, text in parts if (kinds := SECRETS.found_in(text))]
    if not leaks:
        return
    report = outcome.get_result()
    report.outcome = "failed"
    lines = [f"  {', '.join(kinds)} in {where}" for where, kinds in leaks[:20]]
    report.longrepr = "a secret reached the test's output:\n" + "\n".join(lines)


def pytest_sessionfinish(session, exitstatus):
    from tests.figures import record

    if SEARCHED["tests"]:
        source = "tests/secret_scan.py over " + " ".join(session.config.args)
        note = f"{SEARCHED['outputs']:,} outputs, {SEARCHED['characters']:,} characters"
        record(
            "hostile users",
            "tests whose output was searched for secrets",
            SEARCHED["tests"],
            source=source,
        )
        record(
            "hostile users",
            "secrets searched for (app secrets, tokens, approval keys)",
            len(SECRETS),
            note=note,
            source=source,
        )
