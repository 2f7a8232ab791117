"""Pages that show an authenticator seed or take an app secret are never cached: not by
the browser's back button or disk cache, not by a proxy."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_authenticator_setup_page_is_never_cached(client, alice):
    client.force_login(alice)
    response = client.get(reverse("accounts:two_factor_setup"))
    assert response.status_code == 200
    assert response.context["manual_key"] in response.text
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


@pytest.mark.parametrize("name", ["credential_create", "credential_edit"])
def test_credential_forms_are_never_cached(client, alice, alice_credential, name):
    client.force_login(alice)
    args = [alice_credential.pk] if name == "credential_edit" else []
    response = client.get(reverse(f"accounts:{name}", args=args))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
