"""A careless operator: settings that would expose debug pages to many users refuse to
load."""

import os
import subprocess
import sys
from base64 import urlsafe_b64encode
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOSTED_ENV = {
    "KISWEB_MODE": "hosted",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/kisweb",
    "REDIS_URL": "redis://127.0.0.1:6379/9",
    "DJANGO_SECRET_KEY": "k" * 20 + "settings-check-only-5b2e9a7c1d3f4e6a8b0c2d4e6f8a0b1c",
    "KISWEB_ENCRYPTION_KEYS": "check:" + urlsafe_b64encode(b"C" * 32).decode(),
    "ALLOWED_HOSTS": "kisweb.example.org",
}


def _check(env):
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_hosted_mode_refuses_debug():
    result = _check({**HOSTED_ENV, "KISWEB_DEBUG": "true"})
    assert result.returncode == 1
    assert "KISWEB_DEBUG is for the demo; hosted mode refuses it" in result.stderr


def test_hosted_mode_without_debug_loads():
    result = _check(HOSTED_ENV)
    assert result.returncode == 0, result.stderr
