"""Text anyone can type (a user name at sign-in, a label) cannot forge a log line."""

import pytest
from django.urls import reverse

from accounts.models import AuditEvent

pytestmark = pytest.mark.django_db

FORGED = "ERROR django.request: forged"


def test_a_user_name_with_a_line_break_stays_on_one_log_line(client, alice, caplog):
    caplog.set_level("INFO")
    username = f"mallory\n2026-01-01 00:00:00,000 {FORGED}\u202e"
    response = client.post(reverse("login"), {"username": username, "password": "guess"})
    assert response.status_code == 200
    lines = [record.getMessage() for record in caplog.records if "forged" in record.getMessage()]
    assert lines == [
        f"audit auth.sign_in_failed by mallory\\n2026-01-01 00:00:00,000 {FORGED}\\u202e on "
    ]
    # The audit trail itself keeps what was typed.
    event = AuditEvent.objects.get(action=AuditEvent.Action.SIGN_IN_FAILED)
    assert event.actor_name == username
