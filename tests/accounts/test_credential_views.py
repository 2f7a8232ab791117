"""Credential pages: each view for its owner, then for a stranger (404), and the forms."""

import uuid

import pytest
from django.urls import reverse
from django.utils.translation import gettext

from accounts.models import AuditEvent, Credential, KisToken
from tests.helpers import APP_SECRET
from tests.helpers import credential_form as _form

pytestmark = pytest.mark.django_db


def _messages(response):
    return [str(message) for message in response.context["messages"]]


# ---------------------------------------------------------------- list


def test_list_shows_own_credentials_only(client, alice, bob, alice_credential, bob_credential):
    client.force_login(alice)
    response = client.get(reverse("accounts:credential_list"))
    assert response.status_code == 200
    assert list(response.context["credentials"]) == [alice_credential]
    assert "Bob paper" not in response.text


def test_list_needs_sign_in(client):
    response = client.get(reverse("accounts:credential_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# ---------------------------------------------------------------- create


def test_create_stores_a_sealed_credential(client, alice):
    client.force_login(alice)
    response = client.post(reverse("accounts:credential_create"), _form())
    credential = Credential.objects.get(owner=alice, label="Main")
    assert response.status_code == 302
    assert response["Location"] == credential.get_absolute_url()
    assert (credential.account_number, credential.product_code) == ("12345678", "01")
    assert credential.reveal_app_secret() == APP_SECRET
    assert APP_SECRET not in credential.app_secret_enc
    assert credential.is_selected is False  # alice already had a selected credential
    assert (
        AuditEvent.objects.filter(
            actor=alice, action=AuditEvent.Action.CREDENTIAL_CREATED, target_id=str(credential.pk)
        ).count()
        == 1
    )


def test_a_post_with_no_fields_at_all_says_what_is_missing(client, alice):
    # An empty POST once read as no post (``request.POST or None``): the form came back
    # blank, with no word of what was wrong.
    client.force_login(alice)
    before = Credential.objects.count()
    response = client.post(reverse("accounts:credential_create"), {})
    assert response.status_code == 200
    assert response.context["form"].errors["label"] == [gettext("This field is required.")]
    assert Credential.objects.count() == before


def test_the_first_credential_is_selected(client, django_user_model):
    carol = django_user_model.objects.create_user("carol")
    client.force_login(carol)
    client.post(reverse("accounts:credential_create"), _form(account_number="1234567801"))
    credential = Credential.objects.get(owner=carol)
    assert credential.is_selected is True
    assert credential.account_display == "12345678-01"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "account_number",
            "1234-5678",
            "Enter the account number as 8 digits, a hyphen and the 2-digit product code, "
            "e.g. 12345678-01.",
        ),
        (
            "account_number",
            "123456789-01",
            "Enter the account number as 8 digits, a hyphen and the 2-digit product code, "
            "e.g. 12345678-01.",
        ),
        ("app_key", "   ", "This field is required."),
        ("app_key", "PS" + "k" * 30 + " kkk", "Enter the %(what)s without spaces or line breaks."),
        (
            "app_key",
            "PS" + "k" * 20,
            "A KIS %(what)s is %(length)d characters long; this one has %(actual)d.",
        ),
        ("app_secret", "", "This field is required."),
        (
            "app_secret",
            "s" * 179,
            "A KIS %(what)s is %(length)d characters long; this one has %(actual)d.",
        ),
        ("label", "", "This field is required."),
        ("hts_id", "홍 길동", "Enter your HTS ID: letters, digits, “.”, “_” or “-”, at most 20."),
        (
            "environment",
            "demo",
            "Select a valid choice. %(value)s is not one of the available choices.",
        ),
    ],
)
def test_bad_input_is_refused_with_a_message_and_changes_nothing(
    client, alice, field, value, message
):
    client.force_login(alice)
    before = (Credential.objects.count(), AuditEvent.objects.count())
    response = client.post(reverse("accounts:credential_create"), _form(**{field: value}))
    assert response.status_code == 200
    params = {
        "what": gettext("app key" if field == "app_key" else "app secret"),
        "length": 36 if field == "app_key" else 180,
        "actual": len(value),
        "value": value,
    }
    assert response.context["form"].errors[field] == [gettext(message) % params]
    assert (Credential.objects.count(), AuditEvent.objects.count()) == before


def test_a_label_is_unique_per_person(client, alice, bob):
    client.force_login(bob)
    assert (
        client.post(reverse("accounts:credential_create"), _form(label="Alice paper")).status_code
        == 302
    )
    client.force_login(alice)
    before = Credential.objects.count()
    response = client.post(reverse("accounts:credential_create"), _form(label="Alice paper"))
    assert response.context["form"].errors["label"] == [
        gettext("You already have a credential with this label.")
    ]
    assert Credential.objects.count() == before


# ---------------------------------------------------------------- detail


def test_detail_shows_own_credential_masked(client, alice, alice_credential):
    client.force_login(alice)
    response = client.get(alice_credential.get_absolute_url())
    assert response.status_code == 200
    assert alice_credential.app_key_masked in response.text
    assert alice_credential.app_key not in response.text
    assert alice_credential.account_display in response.text


def test_detail_is_404_for_other_users(client, bob, alice_credential):
    client.force_login(bob)
    assert client.get(alice_credential.get_absolute_url()).status_code == 404


def test_detail_is_404_for_a_missing_credential(client, alice):
    client.force_login(alice)
    url = reverse("accounts:credential_detail", args=[uuid.uuid4()])
    assert client.get(url).status_code == 404


# ---------------------------------------------------------------- edit


def test_edit_with_blank_key_and_secret_keeps_the_stored_ones(client, alice, alice_credential):
    client.force_login(alice)
    secret, app_key = alice_credential.reveal_app_secret(), alice_credential.app_key
    url = reverse("accounts:credential_edit", args=[alice_credential.pk])
    form = _form(
        label="Renamed",
        app_key="",
        app_secret="",
        account_number=alice_credential.account_display,
        hts_id=alice_credential.hts_id,
        is_enabled="on",
    )
    response = client.post(url, form)
    assert response.status_code == 302
    alice_credential.refresh_from_db()
    assert alice_credential.label == "Renamed"
    assert alice_credential.reveal_app_secret() == secret
    assert alice_credential.app_key == app_key
    event = AuditEvent.objects.filter(action=AuditEvent.Action.CREDENTIAL_CHANGED).get()
    assert event.detail == {"fields": ["label"]}


def test_edit_never_renders_the_secret(client, alice, alice_credential):
    client.force_login(alice)
    response = client.get(reverse("accounts:credential_edit", args=[alice_credential.pk]))
    assert response.status_code == 200
    assert alice_credential.reveal_app_secret() not in response.text


def test_a_new_app_key_drops_the_old_tokens(client, alice, alice_credential):
    client.force_login(alice)
    client.post(reverse("accounts:credential_verify", args=[alice_credential.pk]))
    assert KisToken.objects.filter(credential=alice_credential).count() == 1
    form = _form(
        label=alice_credential.label,
        account_number=alice_credential.account_display,
        hts_id=alice_credential.hts_id,
        is_enabled="on",
    )
    client.post(reverse("accounts:credential_edit", args=[alice_credential.pk]), form)
    assert KisToken.objects.filter(credential=alice_credential).count() == 0
    alice_credential.refresh_from_db()
    assert alice_credential.reveal_app_secret() == APP_SECRET


def test_disabling_unselects_and_hides_from_the_switcher(client, alice, alice_credential):
    client.force_login(alice)
    form = _form(
        label=alice_credential.label,
        app_key=alice_credential.app_key,
        app_secret="",
        account_number=alice_credential.account_display,
        hts_id=alice_credential.hts_id,
    )  # no is_enabled: the checkbox is off
    client.post(reverse("accounts:credential_edit", args=[alice_credential.pk]), form)
    alice_credential.refresh_from_db()
    assert (alice_credential.is_enabled, alice_credential.is_selected) == (False, False)
    response = client.get(reverse("accounts:credential_list"))
    assert response.context["current_credential"] is None
    assert response.context["user_credentials"] == []


def test_edit_is_404_for_other_users(client, bob, alice_credential):
    client.force_login(bob)
    url = reverse("accounts:credential_edit", args=[alice_credential.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, _form(label="pwned")).status_code == 404
    alice_credential.refresh_from_db()
    assert alice_credential.label == "Alice paper"


# ---------------------------------------------------------------- delete


def test_delete_asks_then_deletes(client, alice, alice_credential):
    client.force_login(alice)
    url = reverse("accounts:credential_delete", args=[alice_credential.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert Credential.objects.filter(pk=alice_credential.pk).exists()
    response = client.post(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:credential_list")
    assert not Credential.objects.filter(pk=alice_credential.pk).exists()
    event = AuditEvent.objects.get(action=AuditEvent.Action.CREDENTIAL_DELETED)
    assert (event.actor, event.target_id, event.target_repr) == (
        alice,
        str(alice_credential.pk),
        str(alice_credential),
    )


def test_delete_is_404_for_other_users(client, bob, alice_credential):
    client.force_login(bob)
    url = reverse("accounts:credential_delete", args=[alice_credential.pk])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert Credential.objects.filter(pk=alice_credential.pk).exists()


# ---------------------------------------------------------------- select


def test_select_switches_and_audits_the_environment_change(
    client, alice, alice_credential, make_credential, settings
):
    settings.KISWEB_REQUIRE_2FA_FOR_REAL = False
    real = make_credential(alice, environment="real", label="Alice real")
    client.force_login(alice)
    response = client.post(
        reverse("accounts:credential_select"), {"credential": real.pk, "next": "/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert Credential.objects.get(owner=alice, is_selected=True) == real
    event = AuditEvent.objects.get(action=AuditEvent.Action.ENVIRONMENT_SWITCHED)
    assert event.detail == {"environment_from": "paper", "environment_to": "real"}
    page = client.get(reverse("accounts:credential_list"))
    assert page.context["current_credential"] == real
    assert page.context["current_credential"].is_paper is False


def test_select_refuses_an_unsafe_next_url(client, alice, alice_credential):
    client.force_login(alice)
    response = client.post(
        reverse("accounts:credential_select"),
        {"credential": alice_credential.pk, "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("accounts:credential_list")


def test_select_is_404_for_other_users(client, alice, bob, alice_credential, bob_credential):
    client.force_login(bob)
    response = client.post(
        reverse("accounts:credential_select"), {"credential": alice_credential.pk}
    )
    assert response.status_code == 404
    assert Credential.objects.get(owner=bob, is_selected=True) == bob_credential
    assert Credential.objects.get(owner=alice, is_selected=True) == alice_credential


def test_select_of_a_real_credential_needs_two_factor_when_required(
    client, alice, alice_credential, make_credential, settings
):
    settings.KISWEB_REQUIRE_2FA_FOR_REAL = True
    real = make_credential(alice, environment="real", label="Alice real")
    client.force_login(alice)
    response = client.post(
        reverse("accounts:credential_select"), {"credential": real.pk}, follow=True
    )
    assert response.redirect_chain == [(reverse("accounts:two_factor_setup"), 302)]
    assert _messages(response) == [
        gettext("Real-money credentials need two-factor sign-in. Set it up, then try again.")
    ]
    assert Credential.objects.get(owner=alice, is_selected=True) == alice_credential


def test_switcher_lists_own_enabled_credentials(client, alice, bob, alice_credential):
    client.force_login(alice)
    response = client.get(reverse("accounts:credential_list"))
    assert response.context["current_credential"] == alice_credential
    assert response.context["user_credentials"] == [alice_credential]
    assert 'name="credential"' in response.text
    assert "Bob paper" not in response.text
