"""Every page the site serves: the exact CSP, no inline code or styles, CSRF in every form.

The pages are found by walking the URL configuration, so pages added by later work are
checked without anyone listing them here.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.layout.conftest import EXPECTED_POLICY, inspect_html, policy_directives


def _plain_paths(patterns, prefix=""):
    """Paths of the URL patterns that take no arguments (the pages a link can reach)."""
    for pattern in patterns:
        route = str(pattern.pattern)
        if any(mark in route for mark in ("<", "(", "[", "\\", "*", "?", "+")):
            continue
        route = route.lstrip("^").rstrip("$")
        if isinstance(pattern, URLResolver):
            yield from _plain_paths(pattern.url_patterns, prefix + route)
        elif isinstance(pattern, URLPattern):
            yield "/" + prefix + route


PAGES = sorted(set(_plain_paths(get_resolver().url_patterns)))


def test_the_walk_finds_the_foundation_pages():
    assert {"/", "/accounts/login/", "/health/", "/admin/"} <= set(PAGES)


@pytest.fixture(params=["stranger", "member", "admin"])
def visitor(request, client, django_user_model):
    if request.param == "member":
        client.force_login(django_user_model.objects.create_user("page-member"))
    elif request.param == "admin":
        client.force_login(
            django_user_model.objects.create_superuser("page-admin", "admin@example.org")
        )
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_every_page_passes_the_content_security_policy(visitor, path):
    response = visitor.get(path, follow=True)
    assert policy_directives(response["Content-Security-Policy"]) == EXPECTED_POLICY
    if not response["Content-Type"].startswith("text/html"):
        return
    anatomy = inspect_html(response.content.decode())
    assert anatomy.inline_scripts == [], path
    assert anatomy.style_elements == 0, path
    assert anatomy.style_attributes == [], path
    assert anatomy.event_handler_attributes == [], path
    assert anatomy.post_forms_without_csrf == [], path


@pytest.mark.django_db
def test_the_policy_is_on_error_pages_too(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert policy_directives(response["Content-Security-Policy"]) == EXPECTED_POLICY
