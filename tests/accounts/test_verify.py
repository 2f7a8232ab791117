"""“Verify” against the simulator: one token per credential, KIS errors in plain words."""

import pytest
from django.urls import reverse
from django.utils.translation import gettext

from accounts.models import AuditEvent, Credential, KisToken

pytestmark = pytest.mark.django_db


def _verify(client, credential):
    response = client.post(reverse("accounts:credential_verify", args=[credential.pk]), follow=True)
    return response, [str(message) for message in response.context["messages"]]


def test_two_verifies_issue_one_token(client, alice, alice_credential, kis_endpoints):
    client.force_login(alice)
    first, first_messages = _verify(client, alice_credential)
    issued_at = KisToken.objects.get(credential=alice_credential).issued_at
    second, second_messages = _verify(client, alice_credential)

    assert first.redirect_chain == [(alice_credential.get_absolute_url(), 302)]
    app_key = alice_credential.app_key
    assert kis_endpoints.stats.token_issues(app_key) == 1
    token = KisToken.objects.get(credential=alice_credential, kind="access")
    assert token.issued_at == issued_at  # the second verify did not ask KIS at all
    assert token.reveal_value() not in first.text + second.text
    assert first_messages[0].startswith(
        gettext(
            "KIS accepted this credential and issued an access token valid until %(expires)s."
        ).split("%(expires)s")[0]
    )
    assert second_messages[0].endswith(
        gettext(
            "KIS accepted this credential. The stored access token is valid until "
            "%(expires)s, so no new token was issued."
        ).split("%(expires)s")[1]
    )
    alice_credential.refresh_from_db()
    assert alice_credential.verified_at is not None
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CREDENTIAL_VERIFIED).count() == 2


def test_verify_is_404_for_other_users(client, bob, alice_credential, kis_endpoints):
    client.force_login(bob)
    response = client.post(reverse("accounts:credential_verify", args=[alice_credential.pk]))
    assert response.status_code == 404
    assert kis_endpoints.stats.token_issues(alice_credential.app_key) == 0


def test_verify_is_post_only(client, alice, alice_credential):
    client.force_login(alice)
    response = client.get(reverse("accounts:credential_verify", args=[alice_credential.pk]))
    assert response.status_code == 405


def test_a_wrong_app_key_is_explained(client, alice, make_credential):
    credential = make_credential(alice, label="typo", app_key="PS" + "x" * 34)
    client.force_login(alice)
    _, messages = _verify(client, credential)
    assert messages == [
        gettext(
            "KIS did not accept the app key (EGW00103). Check that it was copied whole and "
            "that it is a key for %(environment)s."
        )
        % {"environment": credential.get_environment_display()}
    ]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CREDENTIAL_VERIFY_FAILED).count() == 1
    assert KisToken.objects.count() == 0


def test_a_wrong_app_secret_is_explained(client, alice, make_credential):
    credential = make_credential(alice, label="typo", app_secret="y" * 180)
    client.force_login(alice)
    _, messages = _verify(client, credential)
    assert messages == [
        gettext(
            "KIS did not accept the app secret (EGW00105). Enter the app secret again, "
            "copied whole."
        )
    ]


def test_issue_too_soon_is_explained(client, alice, alice_credential, simulator, kis_endpoints):
    client.force_login(alice)
    _verify(client, alice_credential)
    token = KisToken.objects.get(credential=alice_credential)
    # KIS revoked the token and nothing is stored: a new one may not be issued within a minute.
    simulator.call(kis_endpoints.tokens.revoke, alice_credential.app_key, token.reveal_value())
    KisToken.objects.all().delete()

    _, messages = _verify(client, alice_credential)

    assert messages == [
        gettext(
            "KIS issues at most one access token a minute per app key (EGW00133). "
            "Try again in %(seconds)d seconds."
        )
        % {"seconds": 60}
    ]


def test_an_unreachable_host_is_explained(client, alice, alice_credential, settings):
    settings.KISWEB_KIS_ENDPOINTS = {
        **settings.KISWEB_KIS_ENDPOINTS,
        "paper": {"rest": "http://127.0.0.1:9", "ws": "ws://127.0.0.1:9"},
    }
    client.force_login(alice)
    _, messages = _verify(client, alice_credential)
    assert messages == [
        gettext(
            "KIS could not be reached at %(host)s. Check the network connection and try "
            "again later."
        )
        % {"host": "127.0.0.1:9"}
    ]


def test_a_secret_no_key_opens_is_explained(client, alice, alice_credential, settings):
    settings.KISWEB_ENCRYPTION_KEYS = [("other", b"O" * 32)]
    client.force_login(alice)
    _, messages = _verify(client, alice_credential)
    assert messages == [
        gettext(
            "The stored app secret cannot be opened: the key that encrypted it is no "
            "longer configured. Enter the app secret again."
        )
    ]


def test_a_disabled_credential_is_not_verified(client, alice, alice_credential, kis_endpoints):
    Credential.objects.filter(pk=alice_credential.pk).update(is_enabled=False)
    client.force_login(alice)
    _, messages = _verify(client, alice_credential)
    assert messages == [gettext("This credential is disabled. Enable it first.")]
    assert kis_endpoints.stats.token_issues(alice_credential.app_key) == 0


def test_real_money_verify_needs_two_factor_when_required(
    client, alice, make_credential, settings, kis_endpoints
):
    settings.KISWEB_REQUIRE_2FA_FOR_REAL = True
    real = make_credential(alice, environment="real", label="Alice real")
    client.force_login(alice)
    response, messages = _verify(client, real)
    assert response.redirect_chain == [(reverse("accounts:two_factor_setup"), 302)]
    assert messages == [
        gettext("Real-money credentials need two-factor sign-in. Set it up, then try again.")
    ]
    assert kis_endpoints.stats.token_issues(real.app_key) == 0


def test_real_money_verify_works_without_the_requirement(
    client, alice, make_credential, settings, kis_endpoints
):
    settings.KISWEB_REQUIRE_2FA_FOR_REAL = False
    real = make_credential(alice, environment="real", label="Alice real")
    client.force_login(alice)
    _verify(client, real)
    assert kis_endpoints.stats.token_issues(real.app_key) == 1


def test_verify_logs_no_secret(client, alice, alice_credential, caplog):
    caplog.set_level("DEBUG")
    client.force_login(alice)
    _verify(client, alice_credential)
    token = KisToken.objects.get(credential=alice_credential).reveal_value()
    logged = caplog.text + "".join(str(record.args) for record in caplog.records)
    assert alice_credential.reveal_app_secret() not in logged
    assert token not in logged
    assert alice_credential.app_key not in logged
