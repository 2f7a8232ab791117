"""The second sign-in step, which the route walk (``test_every_form``) cannot reach: it
needs a right password first. Generated codes (junk, huge, NUL, full-width digits, near
misses, the field missing or repeated) get the form's error, never a 500 and never a
signed-in session, and leave the device as it was; the right code still signs in after.

``KISWEB_HOSTILE_EXAMPLES`` sets how many codes (``make soak`` runs many more).
"""

from __future__ import annotations

import os

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import AuditEvent
from tests.conftest import ALICE_PASSWORD

from .strategies import JUNK

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("KISWEB_HOSTILE_EXAMPLES", "40"))
NEAR_MISSES = st.integers(0, 999_999).map(lambda n: f"{n:06d}") | st.sampled_from(
    ["12345", "1234567", " 123456", "123456 ", "12 3456", "１２３４５６", "٠١٢٣٤٥"]
)
CODES = st.one_of(
    st.none(),  # the field left out
    JUNK,
    NEAR_MISSES,
    st.lists(JUNK | NEAR_MISSES, min_size=2, max_size=3),
)


def _right_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def test_generated_codes_never_sign_in_nor_break_the_step(alice):
    device = TOTPDevice.objects.create(user=alice, name="default", confirmed=True)
    client = Client()
    password_step = client.post(reverse("login"), {"username": "alice", "password": ALICE_PASSWORD})
    assert password_step["Location"] == reverse("accounts:sign_in_code")
    step = reverse("accounts:sign_in_code")
    answers: set[int] = set()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(code=CODES)
    def one_code(code):
        if code == _right_code(device):
            return  # a six-digit guess can be right; that is not hostile
        response = client.post(step, {} if code is None else {"otp_token": code})
        answers.add(response.status_code)
        assert response.status_code == 200, (code, response.status_code)
        assert response.context["form"].errors
        assert SESSION_KEY not in client.session

    one_code()
    assert answers == {200}
    device.refresh_from_db()
    assert device.confirmed and TOTPDevice.objects.filter(user=alice).count() == 1
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.SIGNED_IN).exists()

    # The step still works for the person who has the code (django-otp's throttle, which
    # the wrong codes raised, is what a real person would meet too: lifted here).
    device.throttling_failure_count, device.throttling_failure_timestamp = 0, None
    device.save()
    right = client.post(step, {"otp_token": _right_code(device)})
    assert right.status_code == 302
    assert client.session[SESSION_KEY] == str(alice.pk)
