"""The DEBUG 500 page and the report mailed to ADMINS show no secret: not in POST
fields, not in any frame's local variables, not in settings (with DEBUG on and off)."""

import sys
from collections import namedtuple

import pytest
from django.db import IntegrityError
from django.test import RequestFactory
from django.utils.log import AdminEmailHandler
from django.views.debug import ExceptionReporter, technical_500_response

from accounts import actions, secrets
from accounts.models import Credential

pytestmark = pytest.mark.django_db

APP_SECRET = "Zq" + "x7" * 89
PASSWORD = "-".join(["correct", "horse", "battery", "9"])
# Built at run time: the report shows the source lines around each frame, this file's too.
OTP = str(904_000 + 172)
REDIS_PASSWORD = "hunter" + "2-redis"
DB_PASSWORD = "hunter" + "3-db"


def _request(user, **post):
    request = RequestFactory().post("/accounts/credentials/new/", post)
    request.user = user
    return request


def _reports(request, exc_info):
    html = technical_500_response(request, *exc_info).content.decode()
    text = ExceptionReporter(request, *exc_info, is_email=True).get_traceback_text()
    return html + text


@pytest.fixture(params=[True, False], ids=["debug-on", "debug-off"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def test_a_failed_create_shows_neither_the_posted_nor_the_local_secret(
    debug, alice, alice_credential
):
    # Saving a second credential under a taken label fails inside create_credential,
    # whose locals hold the CredentialInput with the secret.
    data = actions.CredentialInput(
        label=alice_credential.label,
        environment="paper",
        app_key="PS" + "k" * 34,
        app_secret=APP_SECRET,
        account_number="12345678",
        product_code="01",
        hts_id="alice01",
    )
    request = _request(
        alice, label=data.label, app_secret=APP_SECRET, password1=PASSWORD, otp_token=OTP
    )
    try:
        actions.create_credential(alice, data)
    except IntegrityError:
        exc_info = sys.exc_info()
    report = _reports(request, exc_info)
    assert "create_credential" in report
    assert APP_SECRET not in report
    assert APP_SECRET[:40] not in report
    assert PASSWORD not in report
    assert OTP not in report


def test_a_failed_seal_does_not_show_the_plaintext(debug, alice, settings):
    credential = Credential(owner=alice)
    settings.KISWEB_ENCRYPTION_KEYS = []
    try:
        credential.set_app_secret(APP_SECRET)
    except IndexError:
        exc_info = sys.exc_info()
    report = _reports(_request(alice), exc_info)
    assert "set_app_secret" in report
    assert APP_SECRET not in report


def test_an_unopenable_secret_does_not_show_the_encryption_key(debug, alice, settings):
    _key_id, key = settings.KISWEB_ENCRYPTION_KEYS[0]
    sealed = secrets.seal(APP_SECRET, context="credential:one:app_secret")
    try:
        secrets.unseal(sealed, context="credential:two:app_secret")
    except secrets.SecretUnavailable:
        exc_info = sys.exc_info()
    report = _reports(_request(alice), exc_info)
    assert "unseal" in report
    assert repr(key)[2:30] not in report
    assert key.hex()[:16] not in report


def test_passwords_in_service_urls_are_hidden(debug, alice, settings):
    settings.REDIS_URL = f"redis://:{REDIS_PASSWORD}@redis.internal:6379/0"
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "x", "CONFIG": {"hosts": [settings.REDIS_URL]}}
    }
    broker_url = f"postgres://kisweb:{DB_PASSWORD}@db.internal/kisweb"
    try:
        raise RuntimeError("no connection")
    except RuntimeError:
        exc_info = sys.exc_info()
    report = _reports(_request(alice, next=broker_url), exc_info)
    assert "redis.internal" in report
    assert REDIS_PASSWORD not in report
    assert DB_PASSWORD not in report


def test_the_admin_mail_uses_the_same_filter(settings, alice):
    settings.DEBUG = False
    handler = AdminEmailHandler(include_html=True)
    reporter = handler.reporter_class(_request(alice, app_secret=APP_SECRET), None, None, None)
    assert type(reporter.filter).__name__ == "SecretScrubbingFilter"


def test_a_local_that_holds_itself_still_gets_a_report(debug, alice):
    point = namedtuple("Point", "x y")(1, 2)
    loop = [point]
    loop.append(loop)
    nested = {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"app_secret": APP_SECRET}}}}}}}}
    try:
        raise RuntimeError(f"{len(loop)} {len(nested)}")
    except RuntimeError:
        exc_info = sys.exc_info()
    report = _reports(_request(alice), exc_info)
    assert "RuntimeError" in report
    assert APP_SECRET not in report
