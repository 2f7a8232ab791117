"""The reliability report: run the fault, hostile and load suites for real, then write
``docs/reliability.md`` from what they left behind.

``python tools/report.py [--quick] [--hosted-env "K=V ..."]`` (``make report``) makes a fresh
directory, points ``KISWEB_REPORT_DIR`` at it, runs every step below (each pytest run with
``--junitxml`` into it; tests and benchmarks ``record()`` figures into its
``figures.jsonl``, tests/figures.py), notes the machine, then renders the report. It exits
1 when anything failed, after writing the report, which says so plainly.

``python tools/report.py --render DIR [--out FILE]`` renders a directory again without
running anything. The renderer knows no test or figure by name: it reads junit XML files
named ``<section>__<step>.xml``, ``steps.jsonl`` (one line per step: its exit code),
``figures.jsonl`` and ``machine.json``, so figures added later appear on their own.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

# Section slug (as in file names and figures) -> heading and what was tried there.
SECTIONS: dict[str, tuple[str, str]] = {
    "faults": (
        "Faults",
        "The parts kisweb leans on were broken while it worked: KIS answering late, wrongly "
        "or not at all, sockets cut, and PostgreSQL, Redis, the relay and the task worker "
        "stopped and restarted under load. Each test checks that no order was lost or sent "
        "twice and that the pages and streams came back by themselves.",
    ),
    "hostile input": (
        "Hostile input",
        "Generated and hand-made bad input was thrown at every parser and form: order "
        "tickets, browser socket messages and KIS's own wire frames, malformed, oversized, "
        "with NUL bytes and odd Unicode. Each must get a clear message and change nothing, "
        "never a 500 or a crash.",
    ),
    "hostile users": (
        "Hostile users",
        "Signed-in and anonymous users tried to reach what is not theirs: every route "
        "without the right login, other users' credentials and orders by id, forged forms, "
        "admin pages, cached pages and logs, looking for secrets or a way around a check.",
    ),
    "load": (
        "Load",
        "Many users at once on one 2-core machine shared with other jobs, over loopback: "
        "signed-in users browsing their pages, hundreds of browser sockets watching dozens "
        "of symbols for minutes, and orders at 20 a second through the journal. The "
        "figures are a floor for a real host, not a ceiling.",
    ),
}
OTHER = "other"


# ---------------------------------------------------------------- reading the results


@dataclass
class FileResult:
    """One test file's outcome across the junit files of a section."""

    tests: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    skips: list[tuple[str, str]] = field(default_factory=list)  # (test, reason)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (test, first line)


def test_file(classname: str, fallback: str = "") -> str:
    """``tests.kis.test_frames.TestX`` -> ``tests/kis/test_frames.py``: the parts up to the
    first that names a test module (junit's xunit2 family carries no file attribute)."""
    parts = classname.split(".") if classname else []
    for index, part in enumerate(parts):
        if part.startswith("test_") or part.endswith("_test"):
            return "/".join(parts[: index + 1]) + ".py"
    return classname or fallback or "(unknown)"


def _first_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[0][:300] if lines else ""


def read_junit(path: Path) -> tuple[dict[str, FileResult], dict[str, int], list[str]]:
    """Per test file results, hypothesis examples per test (passing cases over every
    phase, where the statistics were recorded), and errors outside any test case."""
    files: dict[str, FileResult] = defaultdict(FileResult)
    examples: dict[str, int] = {}
    problems: list[str] = []
    try:
        root = ET.parse(path).getroot()  # noqa: S314 - written by our own pytest run
    except ET.ParseError as error:
        return {}, {}, [f"{path.name} is not readable junit XML: {error}"]
    for prop in root.iter("property"):
        name = prop.get("name", "")
        if name.startswith("hypothesis-statistics-"):
            try:
                text = base64.b64decode(prop.get("value", "")).decode("utf-8", "replace")
            except ValueError:
                continue
            counts = [int(n) for n in re.findall(r"(\d+) passing", text)]
            examples[name.removeprefix("hypothesis-statistics-")] = sum(counts)
    for case in root.iter("testcase"):
        result = files[test_file(case.get("classname", ""), path.stem)]
        test = case.get("name", "")
        result.tests += 1
        result.seconds += float(case.get("time") or 0)
        failure = case.find("failure")
        if failure is None:
            failure = case.find("error")
        skipped = case.find("skipped")
        if failure is not None:
            result.failed += 1
            message = failure.get("message") or failure.text
            result.failures.append((test, _first_line(message)))
        elif skipped is not None:
            result.skipped += 1
            result.skips.append((test, _first_line(skipped.get("message") or skipped.text)))
        else:
            result.passed += 1
    for suite in root.iter("testsuite"):
        if int(suite.get("tests") or 0) == 0 and int(suite.get("errors") or 0) > 0:
            problems.append(f"{path.name}: {suite.get('errors')} errors before any test ran")
    return dict(files), examples, problems


def read_jsonl(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def section_of(slug: str) -> str:
    slug = slug.strip().lower().replace("-", " ")
    return slug if slug in SECTIONS else OTHER


# ---------------------------------------------------------------- rendering


def _cell(value: object) -> str:
    text = str(value).replace("\r", " ").replace("\n", " ").replace("|", "\\|")
    return text.strip()


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value >= 0.1 else f"{value * 1000:.0f} ms"


def machine_line(machine: dict[str, object]) -> str:
    order = [
        ("host", "hostname"),
        ("system", "uname"),
        ("CPU", "cpu"),
        ("memory", "memory"),
        ("Python", "python"),
        ("PostgreSQL", "postgresql"),
        ("Redis", "redis"),
        ("Chromium", "chromium"),
    ]
    parts = [f"{label} {machine[key]}" for label, key in order if machine.get(key)]
    return "; ".join(parts)


def render(directory: Path) -> tuple[str, bool]:
    """The report's markdown, and whether everything passed."""
    machine: dict[str, object] = {}
    if (directory / "machine.json").exists():
        machine = json.loads((directory / "machine.json").read_text(encoding="utf-8"))
    steps = read_jsonl(directory / "steps.jsonl")
    figures = read_jsonl(directory / "figures.jsonl")

    results: dict[str, dict[str, FileResult]] = defaultdict(dict)
    examples: dict[str, dict[str, int]] = defaultdict(dict)
    problems: dict[str, list[str]] = defaultdict(list)
    for path in sorted(directory.glob("*.xml")):
        section = section_of(path.stem.split("__", 1)[0])
        files, counts, trouble = read_junit(path)
        for name, result in files.items():
            merged = results[section].setdefault(name, FileResult())
            merged.tests += result.tests
            merged.passed += result.passed
            merged.failed += result.failed
            merged.skipped += result.skipped
            merged.seconds += result.seconds
            merged.skips += result.skips
            merged.failures += result.failures
        examples[section].update(counts)
        problems[section] += trouble
    failed_steps: dict[str, list[dict[str, object]]] = defaultdict(list)
    for step in steps:
        if step.get("exit") not in (0, 5):  # 5: pytest found no test to run
            failed_steps[section_of(str(step.get("section", "")))].append(step)
    by_section: dict[str, dict[str, list[dict[str, object]]]] = defaultdict(dict)
    for figure in figures:
        source = str(figure.get("source") or "(unnamed)")
        section = section_of(str(figure.get("section", "")))
        by_section[section].setdefault(source, []).append(figure)

    failed_tests = sum(r.failed for files in results.values() for r in files.values())
    ran_tests = sum(r.tests for files in results.values() for r in files.values())
    failed_runs = sum(len(v) for v in failed_steps.values())
    trouble_count = sum(len(v) for v in problems.values())
    ok = failed_tests == 0 and failed_runs == 0 and trouble_count == 0

    out: list[str] = ["# Reliability", ""]
    out.append("Written by `make report` (tools/report.py) from one real run; do not edit by hand.")
    out.append("")
    when = machine.get("finished") or machine.get("started") or ""
    commit = machine.get("commit") or "unknown"
    out.append(f"Run: {when} UTC on commit {commit}{' (quick)' if machine.get('quick') else ''}.")
    out.append("")
    out.append(f"Machine: {machine_line(machine) or 'not recorded'}.")
    out.append("")
    if ok:
        out.append(f"**Result: everything passed** ({ran_tests} tests, {len(steps)} runs).")
    else:
        out.append(
            f"**Result: FAILED**: {failed_tests} of {ran_tests} tests failed, "
            f"{failed_runs} of {len(steps)} runs exited with an error"
            + (f", {trouble_count} junit files with errors outside tests" if trouble_count else "")
            + ". Each is marked FAILED below."
        )
    out.append("")

    for slug in [*SECTIONS, OTHER]:
        files = results.get(slug, {})
        section_figures = by_section.get(slug, {})
        runs = [s for s in steps if section_of(str(s.get("section", ""))) == slug]
        if slug == OTHER and not (files or section_figures or runs):
            continue
        title, intro = SECTIONS.get(slug, ("Other", "Results filed under no known section."))
        out += [f"## {title}", "", intro, ""]
        if runs:
            out += ["| run | result | time |", "|---|---|---|"]
            for step in runs:
                code = step.get("exit")
                verdict = (
                    "passed"
                    if code == 0
                    else "no tests found"
                    if code == 5
                    else f"**FAILED** (exit {code})"
                )
                seconds = float(str(step.get("seconds") or 0))
                out.append(f"| `{_cell(step.get('name', ''))}` | {verdict} | {_seconds(seconds)} |")
            out.append("")
        for line in problems.get(slug, []):
            out += [f"**FAILED**: {_cell(line)}", ""]
        if files:
            out += [
                "| test file | tests | passed | failed | skipped | time |",
                "|---|---|---|---|---|---|",
            ]
            for name, r in sorted(files.items()):
                failed = f"**{r.failed} FAILED**" if r.failed else "0"
                out.append(
                    f"| `{_cell(name)}` | {r.tests} | {r.passed} | {failed} | {r.skipped} | "
                    f"{_seconds(r.seconds)} |"
                )
            out.append("")
            failures = [(n, t, m) for n, r in sorted(files.items()) for t, m in r.failures]
            if failures:
                out += ["Failed:", ""]
                out += [
                    f"- **FAILED** `{_cell(n)}::{_cell(t)}`: {_cell(m)}" for n, t, m in failures
                ]
                out.append("")
            skips = [(n, t, m) for n, r in sorted(files.items()) for t, m in r.skips]
            if skips:
                out += ["Skipped:", ""]
                out += [
                    f"- `{_cell(n)}::{_cell(t)}`: {_cell(m) or 'no reason given'}"
                    for n, t, m in skips
                ]
                out.append("")
        counts = examples.get(slug, {})
        if counts:
            out += ["Hypothesis examples run (passing cases, every phase):", ""]
            out += [f"- `{_cell(test)}`: {n}" for test, n in sorted(counts.items())]
            out.append("")
        for source, rows in sorted(section_figures.items()):
            out += [f"Figures from `{_cell(source)}`:", ""]
            out += ["| name | value | unit | note |", "|---|---|---|---|"]
            for row in rows:
                out.append(
                    f"| {_cell(row.get('name', ''))} | {_cell(row.get('value', ''))} | "
                    f"{_cell(row.get('unit', ''))} | {_cell(row.get('note', ''))} |"
                )
            out.append("")
        if not (files or section_figures or runs):
            out += ["Nothing was run for this section in this run.", ""]
    return "\n".join(out).rstrip() + "\n", ok


# ---------------------------------------------------------------- the machine


def _run_text(*command: str) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - fixed commands, no shell
            command, capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip()


def _cpu() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor()
    models = re.findall(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    count = len(re.findall(r"^processor\s*:", text, re.MULTILINE))
    return f"{models[0].strip() if models else 'unknown model'} x {count}"


def _memory() -> str:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return ""
    found = re.search(r"^MemTotal:\s*(\d+) kB", text, re.MULTILINE)
    return f"{int(found.group(1)) / 1024 / 1024:.1f} GiB" if found else ""


def _postgresql(url: str) -> str:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=5) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return str(row[0]) if row else ""
    except Exception as error:
        return f"not reached ({type(error).__name__})"


def _redis(url: str) -> str:
    try:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=5)
        return str(client.info("server").get("redis_version", ""))
    except Exception as error:
        return f"not reached ({type(error).__name__})"


def machine(quick: bool, started: str, hosted: dict[str, str]) -> dict[str, object]:
    # The server's own database: the hosted test database may not exist between runs.
    server = hosted.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    database = re.sub(r"/[^/]*$", "/postgres", server)
    uname = os.uname()
    return {
        "hostname": platform.node(),
        "uname": f"{uname.sysname} {uname.release} {uname.machine}",
        "cpu": _cpu(),
        "memory": _memory(),
        "python": platform.python_version(),
        "postgresql": _postgresql(database),
        "redis": _redis(hosted.get("REDIS_URL", "redis://127.0.0.1:6379/0")),
        "chromium": _run_text("chromium", "--version") or "not installed",
        "commit": _run_text("git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"),
        "started": started,
        "finished": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
        "quick": quick,
    }


# ---------------------------------------------------------------- the run


@dataclass
class Step:
    section: str
    name: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)


def _pytest(
    section: str, name: str, paths: list[str], marks: str, env: dict[str, str] | None = None
) -> Step:
    slug = section.replace(" ", "-")
    command = [PYTHON, "-m", "pytest", *paths, "-q", "-p", "no:cacheprovider"]
    command += ["-m", marks, "--hypothesis-show-statistics"]
    command += ["--junitxml", f"{{dir}}/{slug}__{name}.xml"]
    return Step(section, name, command, env or {})


def _existing(*patterns: str) -> list[str]:
    found: list[str] = []
    for pattern in patterns:
        found += sorted(str(p.relative_to(ROOT)) for p in ROOT.glob(pattern))
    return found


def steps(quick: bool, hosted: dict[str, str]) -> list[Step]:
    """What a report runs. Directories other suites are still growing run when present, in
    each of the three passes ``make test`` has (demo, hosted, browser)."""
    fast = "not hosted and not browser"
    plan: list[Step] = []
    for section, directory in (("faults", "tests/faults"), ("hostile input", "tests/hostile")):
        if (ROOT / directory).is_dir():
            stem = directory.rsplit("/", 1)[-1]
            plan.append(_pytest(section, stem, [directory], fast))
            plan.append(_pytest(section, f"{stem}-hosted", [directory], "hosted", hosted))
            plan.append(_pytest(section, f"{stem}-browser", [directory], "browser"))
    hostile_input = _existing(
        "tests/trading/test_hostile_ticket.py",
        "tests/market/test_consumer.py",
        "tests/kis/test_frames.py",
    )
    plan.append(_pytest("hostile input", "parsers-and-forms", hostile_input, fast))
    hostile_users = _existing(
        "tests/layout/test_every_route_is_guarded.py",
        "tests/accounts/test_adversarial_*.py",
        "tests/layout/test_page_security.py",
    )
    plan.append(_pytest("hostile users", "users", hostile_users, fast))
    outages = _existing(
        "tests/ops/test_outages_hosted.py", "tests/ops/test_relay_failover_hosted.py"
    )
    plan.append(_pytest("faults", "outages-hosted", outages, "hosted", hosted))
    if not quick:  # make soak's sizes: 10 minutes of drops, 200 orders from 20 users, 30 s
        soak = {"KISWEB_SOAK": "1"}
        plan.append(_pytest("faults", "faults-soak", ["tests/faults"], fast, soak))

    def bench(name: str, *arguments: str, env: dict[str, str] | None = None) -> Step:
        label = " ".join([name, *arguments])
        return Step("load", label, [PYTHON, f"bench/{name}", *arguments], env or {})

    if quick:
        plan += [
            bench("bench_browsing.py", "--duration", "5"),
            bench("bench_trading.py", env={"BENCH_TRADING_ORDERS": "100"}),
            bench("bench_fanout.py", "--soak", "60", "--symbols", "40", "--keys", "50"),
        ]
    else:
        plan += [
            bench("bench_browsing.py"),
            bench("bench_trading.py"),
            bench("bench_trading.py", "--soak", "60"),
            bench("bench_fanout.py"),
            bench("bench_fanout.py", "--soak", "300", "--symbols", "40", "--keys", "50"),
            bench("bench_fanout_redis.py", env={"REDIS_URL": hosted.get("REDIS_URL", "")}),
        ]
    return plan


def run(quick: bool, hosted: dict[str, str], out: Path) -> int:
    directory = Path(tempfile.mkdtemp(prefix="kisweb-report-"))
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    examples = "40" if quick else "60"
    print(f"report: results in {directory}; hypothesis examples per test {examples}")
    for step in steps(quick, hosted):
        env = {
            **os.environ,
            "KISWEB_REPORT_DIR": str(directory),
            "KISWEB_HOSTILE_EXAMPLES": os.environ.get("KISWEB_HOSTILE_EXAMPLES", examples),
            **{k: v for k, v in step.env.items() if v},
        }
        command = [part.replace("{dir}", str(directory)) for part in step.command]
        print(f"== {step.section}: {step.name}", flush=True)
        began = time.monotonic()
        code = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode  # noqa: S603
        line = {
            "section": step.section,
            "name": step.name,
            "exit": code,
            "seconds": round(time.monotonic() - began, 1),
        }
        with (directory / "steps.jsonl").open("a", encoding="utf-8") as steps_file:
            steps_file.write(json.dumps(line) + "\n")
    facts = machine(quick, started, hosted)
    (directory / "machine.json").write_text(json.dumps(facts, indent=2), encoding="utf-8")
    return write(directory, out)


def write(directory: Path, out: Path) -> int:
    text, ok = render(directory)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"report: wrote {out} ({'everything passed' if ok else 'FAILED: see the report'})")
    return 0 if ok else 1


def hosted_env(text: str) -> dict[str, str]:
    """``"K=V K=V"`` (the Makefile's HOSTED_TEST_ENV) as a mapping."""
    pairs = (part.split("=", 1) for part in shlex.split(text) if "=" in part)
    return {key: value for key, value in pairs}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short benchmarks, 40 examples")
    parser.add_argument("--hosted-env", default="", help="K=V ... for the hosted pytest runs")
    parser.add_argument("--render", type=Path, help="only render this results directory")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "reliability.md")
    args = parser.parse_args()
    if args.render is not None:
        return write(args.render, args.out)
    return run(args.quick, hosted_env(args.hosted_env), args.out)


if __name__ == "__main__":
    sys.exit(main())
