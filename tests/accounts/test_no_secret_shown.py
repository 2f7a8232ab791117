"""No page, admin view or log line shows an app secret, access token or approval key."""

import pytest
from asgiref.sync import async_to_sync
from django.urls import reverse

from accounts.kis import open_client
from accounts.models import KisToken

pytestmark = pytest.mark.django_db


async def _issue_both(credential):
    async with open_client(credential) as client:
        await client.ensure_token()
        await client.ensure_approval_key()


def test_no_page_shows_a_secret(client, admin_client, alice, alice_credential, caplog):
    caplog.set_level("DEBUG")
    client.force_login(alice)
    client.post(reverse("accounts:credential_verify", args=[alice_credential.pk]))
    async_to_sync(_issue_both)(alice_credential)
    tokens = KisToken.objects.filter(credential=alice_credential)
    assert sorted(token.kind for token in tokens) == ["access", "approval"]
    secrets = [alice_credential.reveal_app_secret()] + [token.reveal_value() for token in tokens]

    pk = alice_credential.pk
    pages = {
        client: [
            reverse("accounts:credential_list"),
            reverse("accounts:credential_detail", args=[pk]),
            reverse("accounts:credential_edit", args=[pk]),
            reverse("accounts:credential_delete", args=[pk]),
            reverse("accounts:audit_log"),
            reverse("home"),
        ],
        admin_client: [
            reverse("admin:accounts_credential_changelist"),
            reverse("admin:accounts_credential_change", args=[pk]),
            reverse("admin:accounts_kistoken_changelist"),
            *(reverse("admin:accounts_kistoken_change", args=[token.pk]) for token in tokens),
            reverse("admin:accounts_auditevent_changelist"),
            reverse("admin:auth_user_change", args=[alice.pk]),
        ],
    }
    for browser, urls in pages.items():
        for url in urls:
            response = browser.get(url)
            assert response.status_code == 200, url
            for secret in secrets:
                assert secret not in response.text, url
            assert alice_credential.app_key not in response.text, url
    logged = caplog.text + "".join(str(record.args) for record in caplog.records)
    for secret in secrets:
        assert secret not in logged


def test_admins_cannot_add_credentials_or_edit_secrets(admin_client, alice_credential):
    assert admin_client.get(reverse("admin:accounts_credential_add")).status_code == 403
    change = admin_client.get(
        reverse("admin:accounts_credential_change", args=[alice_credential.pk])
    )
    form_fields = set(change.context["adminform"].form.fields)
    assert form_fields == {"label", "hts_id", "is_enabled"}
