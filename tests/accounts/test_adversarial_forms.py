"""Hostile and careless input to the credential form: each gets a clear message on the
field and changes nothing (no row, no audit event, no stored value)."""

import pytest
from django.urls import reverse
from django.utils.translation import gettext

from accounts.models import AuditEvent, Credential
from tests.helpers import credential_form as _form

pytestmark = pytest.mark.django_db

NOT_ASCII = (
    "A KIS %(what)s holds only English letters, digits and symbols. "
    "Copy it again from the KIS site."
)
LABEL = "Enter the label on one line, without control characters."
ACCOUNT = (
    "Enter the account number as 8 digits, a hyphen and the 2-digit product code, e.g. 12345678-01."
)


def _snapshot():
    return (
        list(Credential.objects.order_by("pk").values_list()),
        AuditEvent.objects.count(),
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("app_key", "PS" + "가" * 34, NOT_ASCII),
        ("app_key", "PS" + "k" * 33 + "\u200b", NOT_ASCII),  # zero-width space: not isspace()
        ("app_key", "PS" + "ｋ" * 34, NOT_ASCII),  # full-width letters
        ("app_secret", "s" * 179 + "é", NOT_ASCII),
        (
            "app_secret",
            "s" * 90 + "\u00a0" + "s" * 89,
            "Enter the %(what)s without spaces or line breaks.",
        ),
        ("account_number", "１２３４５６７８-０１", ACCOUNT),  # full-width digits
        ("account_number", "٠١٢٣٤٥٦٧-٠١", ACCOUNT),  # Arabic-Indic digits
        ("label", "Main\x00", "Null characters are not allowed."),
        ("label", "Main\nINFO forged", LABEL),
        ("label", "Main \u202edetalsnart", LABEL),  # right-to-left override
        ("label", "Main\x1b[31m", LABEL),
        ("hts_id", "hong\x00", "Null characters are not allowed."),
        (
            "app_secret",
            "s" * 1_000_000,
            "A KIS %(what)s is %(length)d characters long; this one has %(actual)d.",
        ),
    ],
    ids=[
        "korean-key",
        "zero-width-key",
        "full-width-key",
        "accented-secret",
        "nbsp-secret",
        "full-width-account",
        "arabic-indic-account",
        "nul-label",
        "line-break-label",
        "bidi-override-label",
        "escape-label",
        "nul-hts-id",
        "megabyte-secret",
    ],
)
def test_hostile_input_is_refused_with_a_message_and_changes_nothing(
    client, alice, alice_credential, field, value, message
):
    client.force_login(alice)
    before = _snapshot()
    response = client.post(reverse("accounts:credential_create"), _form(**{field: value}))
    assert response.status_code == 200
    params = {
        "what": gettext("app key" if field == "app_key" else "app secret"),
        "length": 36 if field == "app_key" else 180,
        "actual": len(value),
    }
    assert response.context["form"].errors[field] == [gettext(message) % params]
    assert _snapshot() == before
    if field == "app_secret":
        assert value not in response.text


@pytest.mark.parametrize(
    ("field", "value"),
    [("app_key", "PS" + "가" * 34), ("app_secret", "s" * 179 + "é")],
    ids=["korean-key", "accented-secret"],
)
def test_an_edit_with_a_non_ascii_key_changes_nothing(
    client, alice, alice_credential, field, value
):
    client.force_login(alice)
    before = _snapshot()
    url = reverse("accounts:credential_edit", args=[alice_credential.pk])
    response = client.post(url, _form(label=alice_credential.label, **{field: value}))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert _snapshot() == before


def test_markup_in_label_and_hts_id_is_shown_as_text(client, alice):
    client.force_login(alice)
    label = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'[:60]
    response = client.post(reverse("accounts:credential_create"), _form(label=label))
    assert response.status_code == 302
    credential = Credential.objects.get(label=label)
    for url in (
        credential.get_absolute_url(),
        reverse("accounts:credential_list"),
        reverse("accounts:audit_log"),
        reverse("home"),
    ):
        page = client.get(url)
        assert "<script>alert(1)" not in page.text, url
        assert "<img src=x" not in page.text, url
    assert "script-src 'self'" in page["Content-Security-Policy"]


def test_an_account_number_with_a_trailing_line_break_is_cleaned(client, alice):
    client.force_login(alice)
    response = client.post(
        reverse("accounts:credential_create"), _form(account_number="12345678-01\n")
    )
    assert response.status_code == 302
    assert Credential.objects.get(label="Main").account_display == "12345678-01"
