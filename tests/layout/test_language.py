"""Korean by default; English one POST to Django's set_language away."""

import pytest
from django.conf import settings
from django.test import Client


@pytest.mark.django_db
def test_korean_is_the_default(client, member):
    client.force_login(member)
    html = client.get("/").text
    assert '<html lang="ko">' in html
    assert "로그아웃" in html


@pytest.mark.django_db
def test_language_switch_sets_the_cookie_and_the_next_page_is_english(member):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    page = client.get("/")
    token = page.context["csrf_token"]

    response = client.post(
        "/i18n/setlang/", {"language": "en", "next": "/", "csrfmiddlewaretoken": str(token)}
    )

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    html = client.get("/").text
    assert '<html lang="en">' in html
    assert ">Sign out</button>" in html
    assert 'value="en" lang="en" aria-pressed="true"' in html


@pytest.mark.django_db
def test_language_switch_refuses_a_post_without_csrf(member):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    response = client.post(
        "/i18n/setlang/", {"language": "en", "next": "/"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 403
    assert "<h1>The form expired" in response.text
    assert "Nothing was sent." in response.text
    assert "<style" not in response.text
    assert response.cookies.get(settings.LANGUAGE_COOKIE_NAME) is None
