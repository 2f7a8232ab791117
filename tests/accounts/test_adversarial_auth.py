"""Attacks on sign-in: ways around the authenticator code."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

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
