"""A stored secret no key opens (its key removed, or the ciphertext moved from another
row): every page still works, owner and staff see that it must be entered again, and
the edit form does not let it be kept."""

import pytest
from asgiref.sync import async_to_sync
from django.urls import reverse
from django.utils.translation import gettext

from accounts.kis import open_client
from accounts.models import Credential, KisToken
from accounts.tokenstore import DatabaseTokenStore
from kisweb.kis import TokenKind

pytestmark = pytest.mark.django_db

# The same words on the detail page, in the edit form and after "Verify".
OWNER_NOTE = (
    "The stored app secret cannot be opened: the key that encrypted it is no longer "
    "configured. Enter the app secret again."
)
ADMIN_NOTE = (
    "cannot be opened: the key that encrypted it is no longer configured. The owner must "
    "enter the app secret again."
)
NEW_KEY = ("fresh", b"F" * 32)


@pytest.fixture
def key_removed(settings, alice_credential):
    settings.KISWEB_ENCRYPTION_KEYS = [NEW_KEY]
    return alice_credential


def test_pages_work_and_tell_the_owner_when_the_key_is_gone(client, alice, key_removed):
    client.force_login(alice)
    for url in (reverse("home"), reverse("accounts:credential_list")):
        assert client.get(url).status_code == 200, url
    detail = client.get(key_removed.get_absolute_url())
    assert detail.status_code == 200
    assert gettext(OWNER_NOTE) in detail.text
    assert gettext("stored encrypted, never shown") not in detail.text


def test_the_admin_shows_which_secrets_cannot_be_opened(admin_client, key_removed):
    changelist = admin_client.get(reverse("admin:accounts_credential_changelist"))
    assert changelist.status_code == 200
    assert changelist.context["cl"].result_list[0].secret_is_readable is False
    change = admin_client.get(reverse("admin:accounts_credential_change", args=[key_removed.pk]))
    assert change.status_code == 200
    assert gettext(ADMIN_NOTE) in change.text


def test_an_unreadable_secret_must_be_entered_again_on_edit(client, alice, key_removed):
    client.force_login(alice)
    url = reverse("accounts:credential_edit", args=[key_removed.pk])
    form = {
        "label": "Renamed",
        "environment": "paper",
        "app_key": "",
        "app_secret": "",
        "account_number": key_removed.account_display,
        "hts_id": key_removed.hts_id,
        "is_enabled": "on",
    }
    before = Credential.objects.values_list().get(pk=key_removed.pk)
    refused = client.post(url, form)
    assert refused.status_code == 200
    assert refused.context["form"].errors["app_secret"] == [gettext("This field is required.")]
    assert Credential.objects.values_list().get(pk=key_removed.pk) == before

    secret = "n" * 180
    assert client.post(url, {**form, "app_secret": secret}).status_code == 302
    key_removed.refresh_from_db()
    assert key_removed.label == "Renamed"
    assert key_removed.reveal_app_secret() == secret
    assert gettext(OWNER_NOTE) not in client.get(key_removed.get_absolute_url()).text


def test_a_secret_moved_from_another_row_does_not_open(
    client, admin_client, alice, bob, alice_credential, bob_credential
):
    Credential.objects.filter(pk=alice_credential.pk).update(
        app_secret_enc=bob_credential.app_secret_enc
    )
    alice_credential.refresh_from_db()
    assert alice_credential.secret_is_readable is False
    assert bob_credential.secret_is_readable is True
    change = admin_client.get(
        reverse("admin:accounts_credential_change", args=[alice_credential.pk])
    )
    assert gettext(ADMIN_NOTE) in change.text
    client.force_login(alice)
    response = client.post(
        reverse("accounts:credential_verify", args=[alice_credential.pk]), follow=True
    )
    assert [str(message) for message in response.context["messages"]] == [
        gettext(
            "The stored app secret cannot be opened: the key that encrypted it is no "
            "longer configured. Enter the app secret again."
        )
    ]


async def _issue_both(credential):
    async with open_client(credential) as client:
        await client.ensure_token()
        await client.ensure_approval_key()


def test_a_token_moved_to_the_other_kind_is_no_token(alice_credential):
    async_to_sync(_issue_both)(alice_credential)
    access = KisToken.objects.get(credential=alice_credential, kind="access")
    KisToken.objects.filter(credential=alice_credential, kind="approval").update(
        value_enc=access.value_enc
    )
    store = DatabaseTokenStore(alice_credential)
    load = async_to_sync(store.load)
    assert load(alice_credential.app_key, TokenKind.APPROVAL) is None
    assert load(alice_credential.app_key, TokenKind.ACCESS).value == access.reveal_value()
