"""With PROMETHEUS_MULTIPROC_DIR, counts from several processes add up in one scrape."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.helpers import ROOT

COUNT = (
    "from kisweb.ops import metrics; "
    "metrics.KIS_CALLS.labels(tr_id='FHKST01010100', result='ok').inc()"
)
SCRAPE = "from kisweb.ops import metrics; print(metrics.exposition()[0].decode())"


def _python(code: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_two_processes_counts_are_summed(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    _python(COUNT, env)
    _python(COUNT, env)
    text = _python(SCRAPE, env)
    assert 'kisweb_kis_calls_total{result="ok",tr_id="FHKST01010100"} 2.0' in text
