"""The audit trail: append-only, each person sees their own, admins read everything."""

import pytest
from django.urls import reverse

from accounts.audit import record
from accounts.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_an_event_cannot_be_changed_or_deleted(alice):
    event = record(alice, "order.placed", ip="10.0.0.1", symbol="005930")
    event.action = "order.cancelled"
    with pytest.raises(AuditEvent.Immutable):
        event.save()
    with pytest.raises(AuditEvent.Immutable):
        event.delete()
    with pytest.raises(AuditEvent.Immutable):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AuditEvent.Immutable):
        AuditEvent.objects.filter(pk=event.pk).delete()
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.action, stored.ip_address, stored.detail) == (
        "order.placed",
        "10.0.0.1",
        {"symbol": "005930"},
    )


def test_record_names_the_target_and_refuses_secret_detail(alice, alice_credential):
    event = record(alice, AuditEvent.Action.CREDENTIAL_CHANGED, alice_credential)
    assert (event.target_type, event.target_id, event.target_repr) == (
        "accounts.credential",
        str(alice_credential.pk),
        str(alice_credential),
    )
    with pytest.raises(ValueError, match="app_secret"):
        record(alice, "credential.changed", app_secret="x")


def test_the_activity_page_shows_own_events_only(client, alice, bob, alice_credential):
    record(bob, "order.placed", symbol="005930")
    client.force_login(alice)
    response = client.get(reverse("accounts:audit_log"))
    assert response.status_code == 200
    events = list(response.context["page"].object_list)
    assert events
    assert {event.actor for event in events} == {alice}
    assert str(alice_credential) in response.text


def test_the_activity_page_needs_sign_in(client):
    response = client.get(reverse("accounts:audit_log"))
    assert response.status_code == 302


def test_admins_see_every_event_read_only(admin_client, alice, bob):
    event = record(bob, "order.placed", symbol="005930")
    changelist = admin_client.get(reverse("admin:accounts_auditevent_changelist"))
    assert changelist.status_code == 200
    assert "bob" in changelist.text and "alice" in changelist.text
    assert admin_client.get(reverse("admin:accounts_auditevent_add")).status_code == 403
    change = reverse("admin:accounts_auditevent_change", args=[event.pk])
    assert admin_client.get(change).status_code == 200
    assert admin_client.post(change, {"action": "x"}).status_code == 403
    delete = reverse("admin:accounts_auditevent_delete", args=[event.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).action == "order.placed"


def test_deleting_a_user_keeps_their_events(alice, django_user_model):
    event = record(alice, "order.placed")
    alice.delete()
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.actor, stored.actor_name) == (None, "alice")


def test_staff_changes_and_deletions_in_the_admin_are_audited(admin_client, admin_user, alice):
    credential = alice.kis_credentials.get()
    change = reverse("admin:accounts_credential_change", args=[credential.pk])
    response = admin_client.post(
        change,
        {
            "label": "Renamed by staff",
            "hts_id": credential.hts_id,
            "is_enabled": "on",
            "tokens-TOTAL_FORMS": "0",
            "tokens-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    changed = AuditEvent.objects.get(action=AuditEvent.Action.CREDENTIAL_CHANGED)
    assert (changed.actor, changed.target_id) == (admin_user, str(credential.pk))
    assert changed.detail == {"via": "admin", "fields": ["label"]}

    delete = reverse("admin:accounts_credential_delete", args=[credential.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    deleted = AuditEvent.objects.get(action=AuditEvent.Action.CREDENTIAL_DELETED)
    assert (deleted.actor, deleted.target_id) == (admin_user, str(credential.pk))
    assert deleted.detail == {"via": "admin", "owner": alice.username}
    assert not alice.kis_credentials.exists()
