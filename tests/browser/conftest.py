"""The browser harness: the real ASGI app under the web server, the simulator behind it, Chromium.

- ``simulator`` (tests/conftest.py): a ``SimulatorThread`` in this process, on loopback.
- ``live_site``: ``kisweb.asgi.application`` under the web server in a forked process (session).
  It shares the test database through a SQLite *file* (set below; in-memory databases
  can't be shared between processes) and reaches KIS at the simulator, because
  ``KISWEB_KIS_ENDPOINTS`` is overridden before the fork.
- ``browser``: one headless Debian Chromium per session; ``page``: a fresh context per test
  whose console is watched: any error or CSP violation fails the test, and a failing test
  leaves a screenshot in ``test-artifacts/``.

Tests use ``@pytest.mark.django_db(transaction=True)`` so the web server sees the rows they write.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.test.utils import override_settings
from playwright.sync_api import ConsoleMessage, Error, Page, sync_playwright

from tests.helpers import LiveServer

ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
# No network here: without the background-networking switches Chromium keeps dialling out.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]
PASSWORD = "browser-pass-1"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """SQLite test databases are in memory by default; the web server's process needs a file."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        test_file = tmp_path_factory.mktemp("browser-db") / "kisweb-test.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(test_file)


@pytest.fixture(scope="session")
def live_site(django_db_setup, django_db_blocker, simulator) -> Iterator[LiveServer]:
    if connections["default"].vendor == "sqlite" and connections["default"].is_in_memory_db():
        pytest.fail(
            "the browser tests need a file database shared with web: run them in their "
            "own pass (pytest -m browser), as `make test` does"
        )
    endpoints = {
        "real": {"rest": simulator.real_url, "ws": simulator.real_ws_url},
        "paper": {"rest": simulator.paper_url, "ws": simulator.paper_ws_url},
    }
    # The server checks passwords that tests hash with the fast hasher (tests/conftest.py).
    fast_hashers = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        override_settings(KISWEB_KIS_ENDPOINTS=endpoints, PASSWORD_HASHERS=fast_hashers),
        LiveServer(django_db_blocker) as server,
    ):
        yield server


@pytest.fixture(scope="session")
def browser(live_site):
    # Playwright's sync API leaves its event loop marked as running in this thread, and
    # Django would then refuse ORM calls from these (synchronous) tests. The web server was forked
    # before this point, so the server keeps Django's guard.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()


class ConsoleWatch:
    """Collects what the page's console says is wrong: errors, CSP refusals, crashes."""

    def __init__(self):
        self.problems: list[str] = []
        self.expected: list[str] = []

    def expect(self, text: str) -> None:
        """Don't count messages containing ``text`` (a 404 the test asks for is logged)."""
        self.expected.append(text)

    def attach(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if any(text in message.text for text in self.expected):
            return
        if message.type == "error" or "Content Security Policy" in message.text:
            self.problems.append(f"{message.type}: {message.text} ({message.location['url']})")

    def take(self) -> list[str]:
        problems, self.problems = self.problems, []
        return problems


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def console_watch() -> ConsoleWatch:
    return ConsoleWatch()


@pytest.fixture
def page(request, browser, live_site, console_watch) -> Iterator[Page]:
    # ko-KR, as a Korean visitor's browser would send; the site is Korean first anyway.
    context = browser.new_context(base_url=live_site.url, locale="ko-KR")
    context.set_default_timeout(10_000)
    page = context.new_page()
    console_watch.attach(page)
    yield page
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
        # A crashed page has nothing to show; the test's own failure says why.
        with contextlib.suppress(Error):
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()
    problems = console_watch.take()
    assert problems == [], "the browser console reported problems:\n" + "\n".join(problems)


@pytest.fixture
def make_member(django_user_model):
    """``make_member("carol")``: a user with no credential yet, password ``PASSWORD``."""

    def make_member(username: str):
        return django_user_model.objects.create_user(username, password=PASSWORD)

    return make_member


def sign_in(page: Page, username: str, password: str) -> None:
    """Signs in through the real form, as a person would."""
    page.goto("/accounts/login/")
    form = page.locator("form.sign-in")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(password)
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))


@pytest.fixture
def signed_in_page(page):
    """``signed_in_page(alice, ALICE_PASSWORD)``: the test's page, signed in as that user."""

    def signed_in_page(user, password: str = PASSWORD) -> Page:
        sign_in(page, user.get_username(), password)
        return page

    return signed_in_page
