"""`manage.py demo` as a new user runs it: simulator + task worker + the web server, a page, and
Ctrl-C stops them all."""

import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.helpers import ROOT, free_port, port_is_closed, wait_for_line


@pytest.fixture
def demo_env(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "KISWEB_MODE": "demo",
        "KISWEB_VAR_DIR": str(tmp_path),
        "KISWEB_SIM_REAL_PORT": str(free_port()),
        "KISWEB_SIM_PAPER_PORT": str(free_port()),
        "PYTHONUNBUFFERED": "1",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    return env


def test_demo_serves_a_signed_in_page_with_the_simulator_and_stops_on_ctrl_c(demo_env):
    web_port = free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--port", str(web_port)],
        cwd=ROOT,
        env=demo_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = wait_for_line(process, r"running at (http://\S+)", 60).group(1)
        login = wait_for_line(process, r"Sign in as '(\w+)' with password '([^']+)'", 5)
        with httpx.Client(base_url=url, timeout=10) as browser:
            form = browser.get("/accounts/login/")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
            signed_in = browser.post(
                "/accounts/login/",
                data={
                    "username": login.group(1),
                    "password": login.group(2),
                    "csrfmiddlewaretoken": token,
                },
                headers={"Referer": f"{url}accounts/login/"},
                follow_redirects=True,
            )
            assert signed_in.status_code == 200
            assert str(signed_in.url) == url
            assert 'data-reachable="yes"' in signed_in.text
            # The task worker child beats its heartbeat: the demo is ready with no other process.
            deadline = time.monotonic() + 20
            while (ready := browser.get("/readyz")).status_code != 200:
                assert time.monotonic() < deadline, ready.text
                time.sleep(0.5)
            assert ready.json()["checks"]["worker"]["ok"] is True
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "Stopped." in output
    assert port_is_closed(web_port)
    assert port_is_closed(int(demo_env["KISWEB_SIM_PAPER_PORT"]))
