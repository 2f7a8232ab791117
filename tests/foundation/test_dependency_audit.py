"""The dependency audit in `make lint` never reads "no findings" when it checked nothing."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.helpers import ROOT, free_port


def test_an_audit_that_reaches_no_service_says_so_service_by_service():
    # Tests stay on loopback: both services are sent to a closed local port.
    closed = f"http://127.0.0.1:{free_port()}"
    env = {**os.environ, "HTTPS_PROXY": closed, "https_proxy": closed, "NO_PROXY": ""}
    done = subprocess.run(
        [sys.executable, "tools/audit_dependencies.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = done.stdout.splitlines()
    assert lines[0].startswith("DEPENDENCY AUDIT NOT DONE: no vulnerability service")
    assert lines[1].startswith("  pypi: ") and lines[2].startswith("  osv: ")
    assert "packages checked" not in done.stdout
    assert done.returncode == 0  # said aloud, not a lint failure: the lock did not change
