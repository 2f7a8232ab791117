"""Every credential URL as a stranger, as nobody, and with a broken id: 404 (or sign-in)
and nothing changes."""

import pytest
from django.urls import reverse

from accounts.models import AuditEvent, Credential, KisToken

pytestmark = pytest.mark.django_db


def _state():
    return (
        list(Credential.objects.order_by("pk").values_list()),
        list(KisToken.objects.order_by("pk").values_list()),
        AuditEvent.objects.filter(action__startswith="credential").count(),
    )


def _requests(credential):
    pk = credential.pk
    form = {
        "label": "Taken over",
        "environment": "paper",
        "app_key": "PS" + "k" * 34,
        "app_secret": "s" * 180,
        "account_number": "12345678-01",
        "hts_id": "mallory",
        "is_enabled": "on",
    }
    return [
        ("get", reverse("accounts:credential_detail", args=[pk]), {}),
        ("get", reverse("accounts:credential_edit", args=[pk]), {}),
        ("post", reverse("accounts:credential_edit", args=[pk]), form),
        ("get", reverse("accounts:credential_delete", args=[pk]), {}),
        ("post", reverse("accounts:credential_delete", args=[pk]), {}),
        ("post", reverse("accounts:credential_verify", args=[pk]), {}),
        ("post", reverse("accounts:credential_select"), {"credential": str(pk)}),
    ]


def test_every_credential_url_is_404_for_a_stranger(client, alice_credential, bob):
    client.force_login(bob)
    before = _state()
    for method, url, data in _requests(alice_credential):
        response = getattr(client, method)(url, data)
        assert response.status_code == 404, (method, url)
        assert alice_credential.label not in response.text
    assert _state() == before


def test_every_credential_url_asks_nobody_to_sign_in(client, alice_credential):
    before = _state()
    for method, url, data in _requests(alice_credential):
        response = getattr(client, method)(url, data)
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith(reverse("login") + "?next=")
    assert _state() == before


@pytest.mark.parametrize(
    "value", ["not-a-uuid", "", "1", "00000000-0000-0000-0000-000000000000", "' OR 1=1 --"]
)
def test_select_with_a_broken_or_unknown_id_is_404(client, alice, alice_credential, value):
    client.force_login(alice)
    before = _state()
    response = client.post(reverse("accounts:credential_select"), {"credential": value})
    assert response.status_code == 404
    assert _state() == before


def test_a_broken_id_in_the_path_is_404(client, alice):
    client.force_login(alice)
    for path in ("/accounts/credentials/not-a-uuid/", "/accounts/credentials/1/edit/"):
        assert client.get(path).status_code == 404


def test_the_activity_page_shows_own_events_only(client, alice, bob, alice_credential):
    client.force_login(bob)
    response = client.get(reverse("accounts:audit_log"))
    assert response.status_code == 200
    assert alice_credential.label not in response.text
    assert "Bob paper" in response.text
