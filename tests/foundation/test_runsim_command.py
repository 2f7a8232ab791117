"""`manage.py runsim` runs the simulator with the settings' ports until Ctrl-C."""

import os
import signal
import subprocess
import sys

import httpx

from tests.helpers import ROOT, free_port, port_is_closed, wait_for_line


def test_runsim_serves_both_environments_and_stops_on_ctrl_c(tmp_path):
    real_port, paper_port = free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runsim", "--seed", "7"],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "KISWEB_VAR_DIR": str(tmp_path),
            "KISWEB_SIM_REAL_PORT": str(real_port),
            "KISWEB_SIM_PAPER_PORT": str(paper_port),
            "PYTHONUNBUFFERED": "1",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_line(process, rf"paper\s+REST http://127\.0\.0\.1:{paper_port}", 30)
        for port in (real_port, paper_port):
            status = httpx.get(f"http://127.0.0.1:{port}/__sim__/status", timeout=5)
            assert status.status_code == 200
        token = httpx.post(
            f"http://127.0.0.1:{paper_port}/oauth2/tokenP",
            json={"grant_type": "client_credentials", "appkey": "x" * 36, "appsecret": "y"},
            timeout=5,
        )
        assert token.status_code == 403
        assert token.json()["error_code"] == "EGW00103"
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert port_is_closed(real_port) and port_is_closed(paper_port)
