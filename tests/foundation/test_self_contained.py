"""``tools/check_self_contained.py``: no tracked file names a path outside the repository.

The offending paths below are assembled from parts, so this file does not name them itself.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "tools" / "check_self_contained.py"

SHARED = ".." + "/shared"


def machine_path(*parts: str) -> str:
    return "/" + "/".join(parts)


# Each line names something outside the repository, in the ways files have done it.
OFFENDING = [
    f"See `{SHARED}/DESIGN.md` for the layout.",
    f"described in `{machine_path('work', 'shared', 'kis-api', 'REFERENCE.md')}`",
    f'cwd = "{machine_path("root", "kisweb")}"',
    f"log = {machine_path('tmp', 'bash_jobs.0', 'stdout')}",
    f"PATH={machine_path('usr', 'bin')}:{machine_path('home', 'alice', 'bin')}",
    f"open('{machine_path('Users', 'bob', 'kisweb', 'var')}')",
    "C:" + "\\" + "Users" + "\\" + "carol" + "\\" + "kisweb",
    f"file://{machine_path('work', 'main', 'README.md')}",
    f"cache in {machine_path('var', 'folders', 'xy', 'T')}",
    f"includes {SHARED}",
]

# Lines that look alike but name nothing outside the repository.
CLEAN = [
    "chromium is /usr/bin/chromium; PostgreSQL is under /etc/postgresql",
    "redis-server --dir /var/lib/redis --logfile /var/log/redis/ci.log",
    "#: templates/home.html:7 templates/accounts/home/list.html:3",
    # Built from parts, so this file does not read as naming such a path itself.
    "/".join(["https://github.com/koreainvestment/open-trading-api", "work", "tmp", "home", "x"]),
    "$(VENV)/bin/python and ${HOME}/" + "work/ and ~/KIS/config/kis_devlp.yaml",
    "citations read REFERENCE.md §4.1 or docs/kis-protocol.md §7.8",
    "tests/tmp/ and build/root/ are folders of this repository",
    "../docs/design.md and ../" + "sharedlib are relative",
]


def run_check(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECK), str(repo)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def git_repo(path: Path, files: dict[str, bytes]) -> Path:
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    for name, content in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    subprocess.run(["git", "-C", str(path), "add", *files], check=True)
    return path


def lines(texts: list[str]) -> bytes:
    return ("\n".join(texts) + "\n").encode()


def test_every_offending_line_is_reported_and_nothing_else(tmp_path: Path) -> None:
    repo = git_repo(
        tmp_path / "repo",
        {
            "docs/offending.md": lines(OFFENDING),
            "clean.py": lines(CLEAN),
            "static/logo.bin": b"\x89PNG\0\0" + machine_path("work", "x").encode(),
        },
    )
    (repo / "untracked.md").write_text(f"{SHARED}/DESIGN.md\n")

    result = run_check(repo)

    assert result.returncode == 1, result.stdout
    reported = [line.split(": ", 1)[0] for line in result.stdout.splitlines()[:-1]]
    assert reported == [f"docs/offending.md:{n}" for n in range(1, len(OFFENDING) + 1)]
    assert f"docs/offending.md:1: names the shared folder beside the repository: See `{SHARED}" in (
        result.stdout
    )
    assert result.stdout.splitlines()[-1].startswith(f"{len(OFFENDING)} line(s) point outside")


def test_a_repository_of_clean_files_passes(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", {"clean.py": lines(CLEAN), "Makefile": lines(CLEAN)})

    result = run_check(repo)

    assert result.returncode == 0, result.stdout
    assert result.stdout == "self-contained: 2 tracked files name no path outside the repository\n"


def test_a_tracked_file_deleted_from_the_worktree_is_skipped(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", {"gone.md": lines(OFFENDING), "clean.py": lines(CLEAN)})
    (repo / "gone.md").unlink()

    assert run_check(repo).returncode == 0


def test_this_repository_is_self_contained() -> None:
    result = run_check(ROOT)

    assert result.returncode == 0, result.stdout
