import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from kisweb import config

ROOT = Path(__file__).resolve().parents[2]
KEY_A = base64.urlsafe_b64encode(b"a" * 32).decode()
KEY_B = base64.urlsafe_b64encode(b"b" * 32).decode()


def test_encryption_keys_parse_in_order_first_is_primary():
    keys = config.parse_encryption_keys(f"k1:{KEY_A},\nk2:{KEY_B}", "test")
    assert keys == [("k1", b"a" * 32), ("k2", b"b" * 32)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "holds no encryption key"),
        (KEY_A, "must look like id:base64key"),
        ("k1:" + base64.urlsafe_b64encode(b"short").decode(), "must be 32 bytes, not 5"),
        (f"k1:{KEY_A},k1:{KEY_B}", "appears twice"),
        ("bad id:" + KEY_A, "must look like id:base64key"),
    ],
)
def test_bad_encryption_keys_are_refused_without_echoing_them(text, message):
    with pytest.raises(ImproperlyConfigured, match=message) as refused:
        config.parse_encryption_keys(text, "KISWEB_ENCRYPTION_KEYS")
    assert KEY_A not in str(refused.value)


def test_demo_generates_a_key_file_once_readable_only_by_its_owner(tmp_path):
    first = config.read_encryption_keys("demo", tmp_path)
    second = config.read_encryption_keys("demo", tmp_path)
    assert first == second
    assert len(first) == 1 and len(first[0][1]) == 32
    mode = stat.S_IMODE((tmp_path / "encryption_keys").stat().st_mode)
    assert mode == 0o600


def test_hosted_mode_refuses_to_invent_secrets(tmp_path, monkeypatch):
    monkeypatch.delenv("KISWEB_ENCRYPTION_KEYS", raising=False)
    monkeypatch.delenv("KISWEB_ENCRYPTION_KEYS_FILE", raising=False)
    monkeypatch.delenv("DJANGO_SECRET_KEY", raising=False)
    monkeypatch.delenv("KISWEB_SECRET_KEY", raising=False)
    with pytest.raises(ImproperlyConfigured, match="hosted mode needs KISWEB_ENCRYPTION_KEYS"):
        config.read_encryption_keys("hosted", tmp_path)
    with pytest.raises(ImproperlyConfigured, match="hosted mode needs DJANGO_SECRET_KEY"):
        config.read_secret_key("hosted", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_keys_can_come_from_a_file(tmp_path, monkeypatch):
    key_file = tmp_path / "keys"
    key_file.write_text(f"new:{KEY_B}\nold:{KEY_A}\n")
    monkeypatch.delenv("KISWEB_ENCRYPTION_KEYS", raising=False)
    monkeypatch.setenv("KISWEB_ENCRYPTION_KEYS_FILE", str(key_file))
    assert [key_id for key_id, _ in config.read_encryption_keys("hosted", tmp_path)] == [
        "new",
        "old",
    ]


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("No", False), ("on", True)])
def test_env_bool_reads_the_usual_words(monkeypatch, raw, expected):
    monkeypatch.setenv("KISWEB_TEST_FLAG", raw)
    assert config.env_bool("KISWEB_TEST_FLAG", not expected) is expected


def test_env_bool_refuses_anything_else(monkeypatch):
    monkeypatch.setenv("KISWEB_TEST_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="KISWEB_TEST_FLAG must be true or false"):
        config.env_bool("KISWEB_TEST_FLAG", False)


def test_unknown_mode_is_refused(monkeypatch):
    monkeypatch.setenv("KISWEB_MODE", "prod")
    with pytest.raises(ImproperlyConfigured, match="KISWEB_MODE must be one of demo, real, hosted"):
        config.read_mode()


def _manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


HOSTED_ENV = {
    "KISWEB_MODE": "hosted",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/kisweb",
    "REDIS_URL": "redis://127.0.0.1:6379/9",
    "DJANGO_SECRET_KEY": "k" * 20 + "deploy-check-only-9c1f7e2b5a8d4c3b2a1f0e9d8c7b6a5f4e3d2c1b",
    "KISWEB_ENCRYPTION_KEYS": f"deploy:{KEY_A}",
    "ALLOWED_HOSTS": "kisweb.example.org",
}


def test_check_deploy_is_clean_with_hosted_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=HOSTED_ENV)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_hosted_mode_refuses_sqlite():
    result = _manage("check", env={**HOSTED_ENV, "DATABASE_URL": "sqlite:///x.sqlite3"})
    assert result.returncode == 1
    assert "hosted mode needs DATABASE_URL pointing at PostgreSQL" in result.stderr


def test_real_mode_talks_to_the_kis_hosts_named_in_the_client_with_the_tryitout_path():
    """The settings and kisweb.kis once disagreed: the realtime URL lost ``/tryitout``."""
    code = (
        "from django.conf import settings; import json; "
        "print(json.dumps(settings.KISWEB_KIS_ENDPOINTS))"
    )
    result = _manage("shell", "-v0", "-c", code, env={"KISWEB_MODE": "real"})
    assert result.returncode == 0, result.stderr
    endpoints = json.loads(result.stdout.strip().splitlines()[-1])
    assert endpoints == {
        "real": {
            "rest": "https://openapi.koreainvestment.com:9443",
            "ws": "ws://ops.koreainvestment.com:21000/tryitout",
        },
        "paper": {
            "rest": "https://openapivts.koreainvestment.com:29443",
            "ws": "ws://ops.koreainvestment.com:31000/tryitout",
        },
    }
