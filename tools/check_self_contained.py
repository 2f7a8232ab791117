"""Fail when a tracked file points outside the repository.

kisweb must read the same on every checkout, so no tracked file may name the folder beside
the repository that its first drafts came from (``..`` then ``shared``) or a path that only
exists on one developer's machine. What counts as such a path, at the start of a path (not
inside a longer path or a URL):

- anything under ``/work``, ``/root`` or ``/tmp``: a build machine's worktrees, root's home
  and scratch files (tests use ``tmp_path``, code uses ``tempfile``);
- a home folder: ``/home/<name>``, ``/Users/<name>``, ``C:\\Users\\<name>``;
- macOS scratch folders under ``/var/folders``.

Paths every machine has are fine (``/usr/bin/chromium``, ``/etc/postgresql``,
``/var/lib/redis``), and so are relative paths (``templates/home.html``), URLs
(``https://host/home/x``), ``~/`` paths and ``$(VENV)/bin``. Binary files are skipped.

Usage: ``python tools/check_self_contained.py [REPOSITORY]`` (default: the current
directory). Prints ``file:line: <what>: <text>`` for each hit and exits 1 if there is one.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

# A path starts here unless a word character, dot, dash, tilde, dollar, closing bracket or
# another slash comes right before it: then it is the tail of a relative path, of a URL or
# of a variable. A ``file://`` URL does name a machine path.
_PATH_START = r"(?:(?<![\w.~$/\\)}\]-])|(?<=file://))"

_RULES = (
    ("the shared folder beside the repository", re.compile(r"\.\.[/\\]shared\b")),
    ("a machine path", re.compile(_PATH_START + r"/(?:work|root|tmp)/")),
    ("a home folder", re.compile(_PATH_START + r"/(?:home|Users)/[\w.-]+")),
    ("a home folder", re.compile(r"(?<![\w])[A-Za-z]:\\Users\\[\w.-]+", re.IGNORECASE)),
    ("a macOS scratch folder", re.compile(_PATH_START + r"(?:/private)?/var/(?:folders)/")),
)

_SNIFF_BYTES = 8192


def tracked_files(root: Path) -> list[Path]:
    """Files in git's index under ``root``, as paths relative to it."""
    listing = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        ["git", "-C", str(root), "ls-files", "-z"],  # noqa: S607 - git from PATH, as make does
        check=True,
        capture_output=True,
    ).stdout
    return [Path(name) for name in listing.decode().split("\0") if name]


def read_text(path: Path) -> str | None:
    """The file's text, or None for a binary file, a symlink or a file deleted but still in
    the index."""
    if path.is_symlink() or not path.is_file():
        return None
    data = path.read_bytes()
    if b"\0" in data[:_SNIFF_BYTES]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def offences(text: str) -> Iterator[tuple[int, str, str]]:
    """(line number, what it names, the line) for each line that names an outside path."""
    for number, line in enumerate(text.splitlines(), start=1):
        for what, pattern in _RULES:
            if pattern.search(line):
                yield number, what, line.strip()
                break


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path.cwd()
    files = tracked_files(root)
    found = 0
    for name in files:
        text = read_text(root / name)
        if text is None:
            continue
        for number, what, line in offences(text):
            print(f"{name.as_posix()}:{number}: names {what}: {line}")
            found += 1
    if found:
        print(f"{found} line(s) point outside the repository (see tools/check_self_contained.py)")
        return 1
    print(f"self-contained: {len(files)} tracked files name no path outside the repository")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
