import pytest


@pytest.mark.django_db
def test_home_sends_strangers_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_health_answers_without_a_session(client, settings):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "mode": settings.KISWEB_MODE}
