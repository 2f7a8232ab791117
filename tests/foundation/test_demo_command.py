"""`manage.py demo` as a new user runs it: simulator + daphne, a page, Ctrl-C stops both."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_is_closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def demo_env(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "KISWEB_MODE": "demo",
        "KISWEB_VAR_DIR": str(tmp_path),
        "KISWEB_SIM_REAL_PORT": str(_free_port()),
        "KISWEB_SIM_PAPER_PORT": str(_free_port()),
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


def _wait_for_line(process, pattern, deadline_s):
    deadline = time.monotonic() + deadline_s
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        seen.append(line)
        if match := re.search(pattern, line):
            return match
    printed = "".join(seen)
    raise AssertionError(f"demo never printed {pattern!r}; it printed:\n{printed}")


def test_demo_serves_a_signed_in_page_with_the_simulator_and_stops_on_ctrl_c(demo_env):
    web_port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--port", str(web_port)],
        cwd=ROOT,
        env=demo_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = _wait_for_line(process, r"running at (http://\S+)", 60).group(1)
        login = _wait_for_line(process, r"Sign in as '(\w+)' with password '([^']+)'", 5)
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
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "Stopped." in output
    assert _port_is_closed(web_port)
    assert _port_is_closed(int(demo_env["KISWEB_SIM_PAPER_PORT"]))
