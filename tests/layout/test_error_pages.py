"""Error pages in the site's layout that give nothing away (DEBUG is off in tests)."""

import pytest
from django.conf import settings


@pytest.fixture
def quiet_client(client):
    client.raise_request_exception = False
    return client


def test_debug_is_off():
    assert settings.DEBUG is False


@pytest.mark.django_db
def test_404_is_our_page_without_internals(client):
    response = client.get("/accounts/no-such-thing/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    html = response.text
    assert "Page not found" in html
    assert '<span class="error-code">404</span>' in html
    assert 'href="/static/css/kisweb.css"' in html
    assert "urlpatterns" not in html
    assert "Using the URLconf" not in html


@pytest.mark.django_db
@pytest.mark.urls("tests.layout.urls")
def test_500_shows_no_traceback_and_no_exception_text(quiet_client, caplog):
    response = quiet_client.get("/__layout__/explode/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 500
    html = response.text
    assert '<span class="error-code">500</span>' in html
    assert "Something went wrong on our side." in html
    for leak in ("Traceback", "RuntimeError", "layout-test-secret", settings.SECRET_KEY):
        assert leak not in html
    # The detail goes to the log, for the operator.
    assert "layout-test-secret" in caplog.text


@pytest.mark.django_db
@pytest.mark.urls("tests.layout.urls")
def test_500_page_is_csp_clean(quiet_client):
    response = quiet_client.get("/__layout__/explode/")
    assert "<script" not in response.text
    assert "style=" not in response.text


@pytest.mark.django_db
@pytest.mark.urls("tests.layout.urls")
def test_a_database_lost_in_a_middleware_is_the_503_page(quiet_client, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.layout.urls.LostDatabaseMiddleware"]
    response = quiet_client.get("/__layout__/lost-database/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert "Briefly unavailable" in response.text
    assert "5432" not in response.text and "OperationalError" not in response.text
