"""Attacks through the admin: filters, history and delete pages must not reveal secrets."""

import pytest
from asgiref.sync import async_to_sync
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.kis import open_client
from accounts.models import AuditEvent, KisToken

pytestmark = pytest.mark.django_db


async def _issue_both(credential):
    async with open_client(credential) as client:
        await client.ensure_token()
        await client.ensure_approval_key()


@pytest.mark.parametrize(
    ("changelist", "lookup"),
    [
        ("admin:otp_totp_totpdevice_changelist", "key__startswith"),
        ("admin:otp_totp_totpdevice_changelist", "key"),
        ("admin:accounts_credential_changelist", "app_key__startswith"),
        ("admin:accounts_credential_changelist", "app_secret_enc__contains"),
        ("admin:accounts_kistoken_changelist", "value_enc__startswith"),
        ("admin:accounts_kistoken_changelist", "app_key__startswith"),
    ],
)
def test_a_changelist_cannot_be_filtered_on_a_hidden_value(
    admin_client, alice, alice_credential, changelist, lookup
):
    # With such a filter the row count would reveal the value one character at a time.
    TOTPDevice.objects.create(user=alice, name="default", confirmed=True)
    async_to_sync(_issue_both)(alice_credential)
    response = admin_client.get(reverse(changelist), {lookup: "a"})
    assert response.status_code == 400


def test_allowed_filters_still_work(admin_client, alice_credential):
    response = admin_client.get(
        reverse("admin:accounts_credential_changelist"), {"environment__exact": "paper"}
    )
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


def test_history_and_delete_pages_show_no_secret(admin_client, alice, alice_credential):
    async_to_sync(_issue_both)(alice_credential)
    tokens = list(KisToken.objects.filter(credential=alice_credential))
    secrets = [alice_credential.reveal_app_secret(), *(t.reveal_value() for t in tokens)]
    change = reverse("admin:accounts_credential_change", args=[alice_credential.pk])
    response = admin_client.post(
        change,
        {
            "label": "Renamed",
            "hts_id": alice_credential.hts_id,
            "is_enabled": "on",
            "tokens-TOTAL_FORMS": "2",
            "tokens-INITIAL_FORMS": "2",
            "tokens-MIN_NUM_FORMS": "0",
            "tokens-MAX_NUM_FORMS": "1000",
            **{f"tokens-{i}-id": str(t.pk) for i, t in enumerate(tokens)},
            **{f"tokens-{i}-credential": str(alice_credential.pk) for i in range(2)},
        },
    )
    assert response.status_code == 302
    entry = LogEntry.objects.get()
    pages = [
        reverse("admin:accounts_credential_history", args=[alice_credential.pk]),
        reverse("admin:accounts_credential_delete", args=[alice_credential.pk]),
        reverse("admin:auth_user_delete", args=[alice.pk]),
        *(reverse("admin:accounts_kistoken_delete", args=[t.pk]) for t in tokens),
        reverse("admin:accounts_auditevent_changelist") + "?q=Renamed",
    ]
    for url in pages:
        page = admin_client.get(url)
        assert page.status_code == 200, url
        for secret in secrets:
            assert secret not in page.text, url
        assert alice_credential.app_key not in page.text, url
    for secret in secrets:
        assert secret not in entry.change_message + entry.object_repr


def test_staff_disabling_a_credential_takes_it_out_of_use(
    client, admin_client, alice, alice_credential, make_credential
):
    change = reverse("admin:accounts_credential_change", args=[alice_credential.pk])
    response = admin_client.post(
        change,
        {
            "label": alice_credential.label,
            "hts_id": alice_credential.hts_id,
            "tokens-TOTAL_FORMS": "0",
            "tokens-INITIAL_FORMS": "0",
            "tokens-MIN_NUM_FORMS": "0",
            "tokens-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302
    alice_credential.refresh_from_db()
    assert (alice_credential.is_enabled, alice_credential.is_selected) == (False, False)
    # So the next credential she adds is the one in use, as for someone with none.
    assert make_credential(alice, label="Second").is_selected is True


def _staff_edit(admin_client, credential, **changes):
    change = reverse("admin:accounts_credential_change", args=[credential.pk])
    fields = {"label": credential.label, "hts_id": credential.hts_id, "is_enabled": "on"}
    return admin_client.post(
        change,
        {
            **fields,
            **changes,
            "tokens-TOTAL_FORMS": "0",
            "tokens-INITIAL_FORMS": "0",
            "tokens-MIN_NUM_FORMS": "0",
            "tokens-MAX_NUM_FORMS": "1000",
        },
    )


def test_a_staff_rename_keeps_a_real_credential_in_use(
    admin_client, admin_user, django_user_model, make_credential, settings
):
    # The owner's second factor belongs to their own session; staff renaming the
    # credential must not take it out of use for want of it.
    settings.KISWEB_REQUIRE_2FA_FOR_REAL = False
    owner = django_user_model.objects.create_user("realowner")
    credential = make_credential(owner, environment="real", label="Real")
    assert credential.is_selected is True
    settings.KISWEB_REQUIRE_2FA_FOR_REAL = True
    assert _staff_edit(admin_client, credential, label="Real, renamed").status_code == 302
    credential.refresh_from_db()
    assert (credential.label, credential.is_selected) == ("Real, renamed", True)
    event = AuditEvent.objects.get(action=AuditEvent.Action.CREDENTIAL_CHANGED)
    assert (event.actor, event.detail) == (admin_user, {"via": "admin", "fields": ["label"]})


def test_a_staff_edit_that_changes_nothing_writes_no_audit_entry(admin_client, alice_credential):
    assert _staff_edit(admin_client, alice_credential).status_code == 302
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.CREDENTIAL_CHANGED).exists()
