"""The demo's home page reports the simulator it talks to."""

import pytest


@pytest.fixture
def member(django_user_model):
    return django_user_model.objects.create_user("home-member", password="x")


@pytest.mark.django_db
def test_home_shows_the_simulators_state(client, member, kis_endpoints):
    kis_endpoints.faults.http_500 = True
    try:
        client.force_login(member)
        html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").text
    finally:
        kis_endpoints.faults.http_500 = False
    assert 'data-reachable="yes"' in html
    assert f"The simulator answers at {kis_endpoints.paper_url}." in html
    assert "<dt>Market</dt>\n        <dd>open</dd>" in html
    assert f"<dt>Symbols</dt><dd>{len(kis_endpoints.market.symbols)}</dd>" in html
    assert "<dt>Faults switched on</dt>\n        <dd>http_500</dd>" in html


@pytest.mark.django_db
def test_home_says_when_the_simulator_is_down(client, member, settings):
    settings.KISWEB_KIS_ENDPOINTS = {
        env: {"rest": "http://127.0.0.1:9", "ws": "ws://127.0.0.1:9"} for env in ("real", "paper")
    }
    client.force_login(member)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").text
    assert 'data-reachable="no"' in html
    assert "The simulator does not answer at http://127.0.0.1:9." in html
