"""The top bar, the health strip and the views share one reading of the user's
credentials per request (accounts.selection); each used to run its own query."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _credential_reads(queries: CaptureQueriesContext) -> int:
    return sum('FROM "accounts_credential"' in query["sql"] for query in queries.captured_queries)


@pytest.mark.parametrize("route", ["trading:portfolio", "trading:order_list", "accounts:audit_log"])
def test_a_page_reads_the_users_credentials_once(client, alice, alice_credential, route):
    client.force_login(alice)
    client.get(reverse(route))  # the first load issues the token and fills caches
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(route))
    assert response.status_code == 200
    assert alice_credential.label in response.content.decode()
    assert _credential_reads(queries) == 1


def test_the_strip_shows_the_oldest_enabled_credential_when_none_is_selected(
    client, alice, alice_credential, make_credential
):
    newer = make_credential(alice, label="Alice second")
    type(alice_credential).objects.filter(owner=alice).update(is_selected=False)
    client.force_login(alice)
    response = client.get(reverse("trading:portfolio"))
    assert response.context["health"]["credential"] == alice_credential
    assert response.context["current_credential"] is None
    assert newer.created_at > alice_credential.created_at
