"""Static files come from the web server itself (WhiteNoise), with the right types and headers."""

import httpx
import pytest

from tests.helpers import LiveServer
from tests.layout.conftest import EXPECTED_POLICY, policy_directives


@pytest.fixture(scope="module")
def web_server():
    with LiveServer() as server:
        yield server


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/static/css/kisweb.css", 'text/css; charset="utf-8"'),
        ("/static/js/toasts.js", 'text/javascript; charset="utf-8"'),
        ("/static/img/favicon.svg", "image/svg+xml"),
    ],
)
def test_the_web_server_serves_static_files_with_their_content_type(web_server, path, content_type):
    response = httpx.get(web_server.url + path, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_web_server_serves_css_rules(web_server):
    response = httpx.get(web_server.url + "/static/css/kisweb.css", timeout=10)
    assert ".env-badge--real" in response.text


def test_a_missing_static_file_is_a_404_with_the_policy(web_server):
    response = httpx.get(web_server.url + "/static/css/missing.css", timeout=10)
    assert response.status_code == 404
    assert policy_directives(response.headers["content-security-policy"]) == EXPECTED_POLICY
