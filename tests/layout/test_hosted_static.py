"""Hosted mode: collectstatic into hashed, compressed files served by WhiteNoise; secure cookies."""

import json

import httpx
import pytest
from django.conf import settings
from django.core.management import call_command
from django.templatetags.static import static
from django.test import Client

from tests.helpers import LiveServer

pytestmark = pytest.mark.hosted


@pytest.fixture
def collected(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", interactive=False, verbosity=0)
    return tmp_path


def test_hosted_mode_uses_manifest_storage():
    assert settings.KISWEB_MODE == "hosted"
    assert settings.STORAGES["staticfiles"]["BACKEND"] == (
        "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )
    assert settings.WHITENOISE_USE_FINDERS is False


def test_collectstatic_writes_hashed_and_compressed_files(collected):
    manifest = json.loads((collected / "staticfiles.json").read_text())
    hashed = manifest["paths"]["css/kisweb.css"]
    assert hashed.startswith("css/kisweb.") and hashed != "css/kisweb.css"
    assert (collected / hashed).is_file()
    assert (collected / f"{hashed}.gz").is_file()
    assert static("css/kisweb.css") == f"/static/{hashed}"
    assert manifest["paths"]["js/toasts.js"] != "js/toasts.js"


@pytest.mark.django_db
def test_pages_link_the_hashed_files_and_whitenoise_serves_them(collected):
    client = Client()
    page = client.get("/accounts/login/", secure=True)
    css_url = static("css/kisweb.css")
    assert f'href="{css_url}"' in page.text

    response = client.get(css_url, secure=True)
    assert response.status_code == 200
    assert response["Content-Type"] == 'text/css; charset="utf-8"'
    assert "immutable" in response["Cache-Control"]
    assert b"".join(response.streaming_content).startswith(b"/* kisweb")


def test_the_web_server_serves_the_collected_files(collected):
    css_url = static("css/kisweb.css")
    with LiveServer() as server:
        response = httpx.get(server.url + css_url, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-type"] == 'text/css; charset="utf-8"'
    assert response.headers["content-encoding"] == "gzip"
    assert "immutable" in response.headers["cache-control"]


@pytest.mark.django_db
def test_session_and_csrf_cookies_are_secure(collected, django_user_model):
    django_user_model.objects.create_user("hosted-member", password="hosted-pass-1")
    client = Client()
    form = client.get("/accounts/login/", secure=True)
    assert form.cookies[settings.CSRF_COOKIE_NAME]["secure"] is True
    assert form.cookies[settings.CSRF_COOKIE_NAME]["httponly"] is True

    response = client.post(
        "/accounts/login/",
        {"username": "hosted-member", "password": "hosted-pass-1"},
        secure=True,
    )
    assert response.status_code == 302
    session_cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session_cookie["secure"] is True
    assert session_cookie["httponly"] is True
    assert session_cookie["samesite"] == "Lax"


@pytest.mark.django_db
def test_the_language_cookie_is_secure_too(collected):
    response = Client().post("/i18n/setlang/", {"language": "en", "next": "/"}, secure=True)
    assert response.status_code == 302
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "en"
    assert cookie["secure"] is True
