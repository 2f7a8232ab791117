"""Attacks on sign-in: ways around the authenticator code."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Credential
from kisweb.kissim import make_account

pytestmark = pytest.mark.django_db

STAFF_PASSWORD = "staff-password-9f3k"


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


@pytest.fixture
def staff_with_code(django_user_model):
    user = django_user_model.objects.create_user(
        "carol", password=STAFF_PASSWORD, is_staff=True, is_superuser=True
    )
    device = TOTPDevice.objects.create(user=user, name="default", confirmed=True)
    return user, device


def test_the_admin_sign_in_page_does_not_skip_the_code(client, staff_with_code):
    response = client.post(
        reverse("admin:login") + "?next=/admin/",
        {"username": "carol", "password": STAFF_PASSWORD, "next": "/admin/"},
    )
    assert SESSION_KEY not in client.session
    assert response.status_code == 302
    assert response["Location"] == reverse("login") + "?next=/admin/"
    assert client.get(reverse("admin:index")).status_code == 302
    assert client.get(reverse("accounts:credential_list")).status_code == 302


def test_staff_reach_the_admin_through_the_sign_in_and_code(client, staff_with_code):
    _user, device = staff_with_code
    client.get(reverse("admin:index"), follow=True)
    response = client.post(
        reverse("login"), {"username": "carol", "password": STAFF_PASSWORD, "next": "/admin/"}
    )
    assert response["Location"] == reverse("accounts:sign_in_code")
    assert client.get(reverse("admin:index")).status_code == 302
    response = client.post(reverse("accounts:sign_in_code"), {"otp_token": _code(device)})
    assert response["Location"] == "/admin/"
    assert client.get(reverse("admin:index")).status_code == 200


def test_the_admin_sign_in_page_refuses_a_foreign_next(client, staff_with_code):
    response = client.get(reverse("admin:login") + "?next=https://evil.example/")
    assert response["Location"] == reverse("login") + "?next=" + reverse("admin:index")


def test_a_signed_in_person_who_is_not_staff_gets_403_not_a_loop(client, alice):
    client.force_login(alice)
    assert client.get(reverse("admin:index")).status_code == 302
    assert client.get(reverse("admin:login") + "?next=/admin/").status_code == 403


# ---------------------------------------------------------------- real money without 2FA


def _real_form(account):
    return {
        "label": "Real",
        "environment": "real",
        "app_key": account.appkey,
        "app_secret": account.appsecret,
        "account_number": f"{account.cano}-{account.acnt_prdt_cd}",
        "hts_id": account.hts_id,
    }


@pytest.fixture
def real_account(kis_endpoints):
    return kis_endpoints.add_account(make_account("real"))


def test_a_first_real_credential_is_not_put_in_use_without_two_factor(
    client, django_user_model, real_account, settings
):
    settings.KISWEB_REQUIRE_2FA_FOR_REAL = True
    dave = django_user_model.objects.create_user("dave")
    client.force_login(dave)
    response = client.post(reverse("accounts:credential_create"), _real_form(real_account))
    assert response.status_code == 302
    credential = Credential.objects.get(owner=dave)
    assert credential.is_selected is False
    assert client.get(reverse("home")).context["current_credential"] is None


def test_switching_the_credential_in_use_to_real_money_takes_it_out_of_use(
    client, alice, alice_credential, real_account, settings
):
    settings.KISWEB_REQUIRE_2FA_FOR_REAL = True
    client.force_login(alice)
    form = {**_real_form(real_account), "label": alice_credential.label, "is_enabled": "on"}
    response = client.post(reverse("accounts:credential_edit", args=[alice_credential.pk]), form)
    assert response.status_code == 302
    alice_credential.refresh_from_db()
    assert (alice_credential.environment, alice_credential.is_selected) == ("real", False)


def test_a_real_credential_in_use_is_not_current_after_two_factor_is_turned_off(
    client, django_user_model, make_credential, settings
):
    # Selected while the site did not ask for 2FA (or while it was on); now it asks.
    erin = django_user_model.objects.create_user("erin")
    real = make_credential(erin, environment="real", label="Erin real")
    assert real.is_selected is True
    settings.KISWEB_REQUIRE_2FA_FOR_REAL = True
    client.force_login(erin)
    assert client.get(reverse("home")).context["current_credential"] is None
    settings.KISWEB_REQUIRE_2FA_FOR_REAL = False
    assert client.get(reverse("home")).context["current_credential"] == real


# ---------------------------------------------------------------- sessions


def test_a_planted_session_does_not_survive_sign_in(client, staff_with_code):
    user, device = staff_with_code
    session = client.session
    session["planted"] = True
    session.save()
    planted = session.session_key
    client.cookies["sessionid"] = planted
    client.post(reverse("login"), {"username": "carol", "password": STAFF_PASSWORD})
    client.post(reverse("accounts:sign_in_code"), {"otp_token": _code(device)})
    assert client.session[SESSION_KEY] == str(user.pk)
    assert client.cookies["sessionid"].value != planted
    assert not type(session)(planted).exists(planted)


def test_between_password_and_code_no_page_is_open(client, staff_with_code):
    client.post(reverse("login"), {"username": "carol", "password": STAFF_PASSWORD})
    for url in (
        reverse("home"),
        reverse("accounts:credential_list"),
        reverse("accounts:two_factor_setup"),
        reverse("accounts:audit_log"),
        reverse("admin:index"),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
    assert (
        client.post(reverse("accounts:two_factor_disable"), {"otp_token": "000000"}).status_code
        == 302
    )


def test_a_wrong_code_then_the_right_one_is_throttled(client, staff_with_code):
    _user, device = staff_with_code
    client.post(reverse("login"), {"username": "carol", "password": STAFF_PASSWORD})
    wrong = f"{(int(_code(device)) + 1) % 1_000_000:06d}"
    client.post(reverse("accounts:sign_in_code"), {"otp_token": wrong})
    client.post(reverse("accounts:sign_in_code"), {"otp_token": _code(device)})
    assert SESSION_KEY not in client.session


def test_sign_out_needs_a_post(client, alice):
    client.force_login(alice)
    assert client.get(reverse("logout")).status_code == 405
    assert SESSION_KEY in client.session
