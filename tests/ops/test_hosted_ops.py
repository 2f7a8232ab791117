"""Hosted mode: `/readyz` over the real PostgreSQL and Redis, and `check --deploy` clean."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kisweb.ops import heartbeat
from tests.helpers import ROOT, free_port

pytestmark = pytest.mark.hosted


@pytest.mark.django_db
def test_readyz_checks_postgresql_redis_worker_and_relay(client, settings):
    assert settings.KISWEB_READY_HEARTBEATS == ["worker", "relay"]
    heartbeat.beat("worker", "w")
    response = client.get("/readyz", secure=True)
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == {"ok": True}
    assert checks["redis"] == {"ok": True}
    assert checks["worker"]["ok"] is True
    assert checks["relay"] == {"ok": False, "error": "never"}

    heartbeat.beat("relay")
    assert client.get("/readyz", secure=True).status_code == 200


@pytest.mark.django_db
def test_redis_down_is_named_without_its_url(client, settings):
    settings.REDIS_URL = f"redis://:redis-pw-1@127.0.0.1:{free_port()}/0"
    heartbeat.beat("worker")
    heartbeat.beat("relay")
    response = client.get("/readyz", secure=True)
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == {"ok": False, "error": "ConnectionError"}
    assert "redis-pw-1" not in response.content.decode()


@pytest.mark.django_db
def test_probes_over_plain_http_are_not_redirected_but_pages_are(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code in (200, 503)
    assert client.get("/metrics").status_code == 403
    assert client.get("/accounts/login/").status_code == 301


def test_check_deploy_is_clean_in_hosted_settings():
    env = {**os.environ, "KISWEB_SSL_REDIRECT": "true"}  # as deployed: HTTPS enforced
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout
