"""A ``next`` someone typed decides where a redirect goes, never which view is looked up.

``redirect("foo")`` takes ``foo`` for a URL name and raises when there is none: a 500 from
a plain link. These ``next`` values pass Django's safe-URL test and used to end there.
"""

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import ALICE_PASSWORD

pytestmark = pytest.mark.django_db

# Same-site values that are not paths: a URL name, a relative reference, a view's dotted path.
NOT_A_PATH = ["foo", "home", "accounts:credential_list", "kisweb.views.home", "./", ""]


@pytest.fixture
def quiet_client(client):
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize("next_url", NOT_A_PATH)
def test_selecting_a_credential_with_a_next_that_is_no_path(
    quiet_client, alice, alice_credential, next_url
):
    quiet_client.force_login(alice)
    response = quiet_client.post(
        reverse("accounts:credential_select"),
        {"credential": str(alice_credential.pk), "next": next_url},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:credential_list")


def test_selecting_a_credential_goes_back_to_the_page_it_came_from(client, alice, alice_credential):
    client.force_login(alice)
    response = client.post(
        reverse("accounts:credential_select"),
        {"credential": str(alice_credential.pk), "next": "/accounts/activity/?page=2"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/activity/?page=2"


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", "/\\evil"])
def test_selecting_a_credential_never_leaves_the_site(client, alice, alice_credential, next_url):
    client.force_login(alice)
    response = client.post(
        reverse("accounts:credential_select"),
        {"credential": str(alice_credential.pk), "next": next_url},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:credential_list")


@pytest.mark.parametrize("next_url", NOT_A_PATH)
def test_the_admin_sign_in_page_with_a_next_that_is_no_path(quiet_client, admin_user, next_url):
    quiet_client.force_login(admin_user)
    response = quiet_client.get(reverse("admin:login"), {"next": next_url})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_the_admin_sign_in_page_sends_staff_on_to_their_page(client, admin_user):
    client.force_login(admin_user)
    response = client.get(reverse("admin:login"), {"next": "/admin/accounts/"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/accounts/"


def test_the_admin_sign_in_page_sends_strangers_to_sign_in_with_a_safe_next(quiet_client):
    response = quiet_client.get(reverse("admin:login"), {"next": "foo"})
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/admin/"


def test_a_signed_in_visit_to_sign_in_whose_next_is_sign_in(quiet_client, alice):
    # Django's LoginView raises ValueError ("redirection loop") here.
    quiet_client.force_login(alice)
    login = reverse("login")
    response = quiet_client.get(login, {"next": login})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


@pytest.mark.parametrize(
    ("next_url", "destination"),
    [("foo", "/"), ("accounts:audit_log", "/"), ("/accounts/activity/", "/accounts/activity/")],
)
def test_the_code_step_redirects_to_a_next_that_is_a_path_only(
    quiet_client, alice, next_url, destination
):
    device = TOTPDevice.objects.create(user=alice, name="default", confirmed=True)
    response = quiet_client.post(
        f"{reverse('login')}?next={next_url}",
        {"username": "alice", "password": ALICE_PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:sign_in_code")
    response = quiet_client.post(reverse("accounts:sign_in_code"), {"otp_token": _code(device)})
    assert response.status_code == 302
    assert response["Location"] == destination
