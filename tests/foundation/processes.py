"""Running our commands as child processes, the way a person starts them."""

import re
import socket
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def wait_for_line(process, pattern, deadline_s):
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
    raise AssertionError(f"{process.args} never printed {pattern!r}; it printed:\n{printed}")
