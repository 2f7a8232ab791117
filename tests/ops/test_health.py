"""`/healthz` answers without the database; `/readyz` names each part and is 503 when one
is down, and shows nothing secret."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kisweb.ops import heartbeat
from kisweb.ops.models import Heartbeat


def test_healthz_touches_no_database(client, django_assert_num_queries):
    # No `db` fixture: pytest-django refuses any query, so a 200 proves the DB is not used.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_readyz_is_503_until_the_worker_beats(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["worker"] == {"ok": False, "error": "never"}

    assert heartbeat.beat("worker", "w1")
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["worker"]["ok"] is True


@pytest.mark.django_db
def test_a_stale_heartbeat_is_down(client, settings):
    settings.KISWEB_HEARTBEAT_STALE_S = 30
    Heartbeat.objects.create(name="worker", instance="old", at=timezone.now() - dt.timedelta(60))
    check = client.get("/readyz").json()["checks"]["worker"]
    assert check["ok"] is False
    assert check["age_s"] >= 60

    heartbeat.beat("worker", "new")  # the newest instance counts
    assert client.get("/readyz").json()["checks"]["worker"]["ok"] is True


@pytest.mark.django_db
def test_readyz_requires_the_heartbeats_configured(client, settings):
    settings.KISWEB_READY_HEARTBEATS = ["worker", "relay"]
    heartbeat.beat("worker")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["relay"] == {"ok": False, "error": "never"}
    heartbeat.beat("relay")
    assert client.get("/readyz").status_code == 200


@pytest.mark.django_db
async def test_the_relay_can_beat_from_async_code():
    assert await heartbeat.abeat("relay")
    assert await Heartbeat.objects.filter(name="relay").aexists()


@pytest.mark.django_db
def test_a_database_that_fails_is_reported_by_class_only(client, monkeypatch):
    from django.db import OperationalError
    from django.db.backends.utils import CursorWrapper

    secret = "postgres://kis:hunter2@db.internal/kisweb"

    def refuse(self, sql, params=None):
        raise OperationalError(f"could not connect to {secret}")

    monkeypatch.setattr(CursorWrapper, "execute", refuse)
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == {"ok": False, "error": "OperationalError"}
    assert checks["worker"] == {"ok": False, "error": "database"}
    assert "hunter2" not in response.content.decode()
