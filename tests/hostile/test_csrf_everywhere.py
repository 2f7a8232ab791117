"""A POST without the CSRF token, to every route of the URL configuration (the admin's
too), is the 403 "form expired" page and changes nothing: a page on another site cannot
make a signed-in member's browser act for it. The routes are walked from the URL
configuration, so a view added later is checked without anyone listing it.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.route_classes import HOSTILE_FORM

from .conftest import World
from .routes import OBJECT_ROUTES, every_pattern, is_admin
from .rows import diff, snapshot

pytestmark = pytest.mark.django_db

PATTERNS = every_pattern()
# Named groups of the admin's regular-expression routes, filled with a value they match.
REGEX_GROUPS = {"app_label": "accounts", "url": "no-such-page/"}


def _object_arguments(world: World, name: str) -> dict[str, str]:
    """Alice's own object for her routes: were the check missing, the view would act."""
    kind = OBJECT_ROUTES.get(name)
    pk = {
        "credential": world.credential.pk,
        "order": world.order.pk,
        "watchlist": world.watchlist.pk,
        "item": world.watchlist.pk,
    }.get(kind or "", world.credential.pk)
    return {
        "pk": str(pk),
        "item_pk": str(world.item.pk),
        "code": "005930",
        "uidb64": "MQ",
        "token": "set-password",
        "object_id": str(world.alice.pk),
        "id": str(world.alice.pk),
        "content_type_id": "1",
    }


def _path(world: World, name: str, route: str) -> str:
    arguments = _object_arguments(world, name)
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda match: REGEX_GROUPS[match[1]], route)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda match: arguments[match[1]], path)
    return "/" + path.replace("^", "").replace("$", "")


def _form(world: World) -> dict[str, str]:
    return {
        **HOSTILE_FORM,
        "credential": str(world.credential.pk),
        "language": "en",
        "next": "/",
        "username": "alice",
        "password": "alice-correct-horse",
        "reset": "1",
        "otp_token": "123456",
    }


@pytest.fixture
def root(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.org", "root-pass-1")


def test_every_route_refuses_a_post_without_the_csrf_token(world: World, root):
    site, admin = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    site.force_login(world.alice)
    admin.force_login(root)
    before = snapshot()
    checked = []
    for name, route, _view, _converters in PATTERNS:
        client = admin if is_admin(name) else site
        path = _path(world, name, route)
        response = client.post(path, _form(world), HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 403, (name, path, response.status_code)
        assert "Nothing was sent." in response.text, (name, path)
        checked.append(path)
    assert diff(before, snapshot()) == {}
    assert len(checked) == len(PATTERNS) > 100  # the admin's routes are among them


def test_the_same_post_with_the_token_gets_through(world: World):
    """The refusal above is the missing token, not the form: with it, the view acts."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.alice)
    token = client.get("/").context["csrf_token"]
    before = world.alice.watchlists.count()
    response = client.post(
        "/market/watchlists/new/", {"name": "with a token", "csrfmiddlewaretoken": str(token)}
    )
    assert response.status_code == 302
    assert world.alice.watchlists.count() == before + 1
