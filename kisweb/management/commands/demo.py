"""`manage.py demo`: the simulator, the task worker and the web server side by side, until Ctrl-C.

The Makefile's `make demo` runs migrations first and then this command.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from argparse import ArgumentParser
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.demo import DEMO_PASSWORD, DEMO_USERNAME, ensure_demo_data
from kisweb import serving
from market.symbols import ensure_symbols

READY_TIMEOUT_S = 30.0


class Command(BaseCommand):
    help = "Start the KIS simulator and the web server for a local demo."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        if settings.KISWEB_MODE != "demo":
            raise CommandError("`demo` runs only in demo mode (KISWEB_MODE=demo).")
        sim_rest = settings.KISWEB_KIS_ENDPOINTS["paper"]["rest"]
        children: dict[str, subprocess.Popen[bytes]] = {}  # by name, in starting order
        stopping = False

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            children["simulator"] = self._start_simulator()
            self._wait_ready(f"{sim_rest}/__sim__/status", children["simulator"], "simulator")
            ensure_demo_data()
            if (loaded := ensure_symbols()) is not None:  # the bundled master, first run only
                self.stdout.write(f"Loaded {loaded.created} symbols from the bundled master.")
            # The background tasks (reconciliation, token renewal) run in a worker child,
            # as `manage.py taskworker` does in hosted mode.
            children["task worker"] = self._start_worker()
            children["web server"] = self._start_web(host, port)
            url = f"http://{host}:{port}/"
            self._wait_ready(f"{url}health/", children["web server"], "web server")
            self.stdout.write(self.style.SUCCESS(f"kisweb demo is running at {url}"))
            self.stdout.write(f"Sign in as {DEMO_USERNAME!r} with password {DEMO_PASSWORD!r}.")
            self.stdout.write(f"KIS simulator: {sim_rest} (paper), Ctrl-C stops all three.")
            while not stopping:
                for name, child in children.items():
                    if child.poll() is not None:
                        raise CommandError(f"the {name} stopped with code {child.returncode}")
                time.sleep(0.5)
        finally:
            for child in reversed(children.values()):
                child.terminate()
            for child in reversed(children.values()):
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
        self.stdout.write("Stopped.")

    def _start_simulator(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "kisweb.kissim",
                "--host",
                settings.KISWEB_SIM_HOST,
                "--real-port",
                str(settings.KISWEB_SIM_REAL_PORT),
                "--paper-port",
                str(settings.KISWEB_SIM_PAPER_PORT),
            ]
        )

    def _start_worker(self) -> subprocess.Popen[bytes]:
        manage = Path(settings.BASE_DIR) / "manage.py"
        return subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, str(manage), "taskworker"]
        )

    def _start_web(self, host: str, port: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and module
            serving.command(host, port)
        )

    def _wait_ready(self, url: str, child: subprocess.Popen[bytes], name: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if child.poll() is not None:
                raise CommandError(f"the {name} exited with code {child.returncode}")
            try:
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise CommandError(f"the {name} did not answer at {url} within {READY_TIMEOUT_S:.0f} s")
