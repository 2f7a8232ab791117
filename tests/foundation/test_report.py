"""``tools/report.py`` renders docs/reliability.md from a results directory: the junit files
pytest wrote, the figures tests and benchmarks recorded, the runs' exit codes and the machine.
It knows none of them by name, and a failure anywhere reads as FAILED, with a non-zero exit.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "report.py"

_spec = importlib.util.spec_from_file_location("kisweb_report", SCRIPT)
assert _spec is not None and _spec.loader is not None
report = importlib.util.module_from_spec(_spec)
sys.modules["kisweb_report"] = report  # dataclasses look their module up by name
_spec.loader.exec_module(report)

STATS = (
    "tests/hostile/test_gen.py::test_any_ticket:\n\n"
    "  - during generate phase (0.50 seconds):\n"
    "    - 37 passing, 0 failing, and 2 invalid test cases\n"
    "  - during reuse phase (0.01 seconds):\n"
    "    - 3 passing, 0 failing, and 0 invalid test cases\n"
)


def junit(cases: str, stats: str = "") -> str:
    properties = ""
    if stats:
        value = base64.b64encode(stats.encode()).decode()
        name = "hypothesis-statistics-tests/hostile/test_gen.py::test_any_ticket"
        properties = f'<properties><property name="{name}" value="{value}"/></properties>'
    return (
        '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" '
        f'errors="0" failures="0" skipped="0" tests="3" time="1.0">{properties}{cases}'
        "</testsuite></testsuites>"
    )


PASSING = junit(
    '<testcase classname="tests.hostile.test_gen" name="test_any_ticket" time="0.75"/>'
    '<testcase classname="tests.hostile.test_gen.TestForms" name="test_nul" time="0.25"/>'
    '<testcase classname="tests.hostile.test_gen" name="test_on_postgres" time="0.001">'
    '<skipped type="pytest.skip" message="needs PostgreSQL">skip</skipped></testcase>',
    STATS,
)
FAILING = junit(
    '<testcase classname="tests.faults.test_outage" name="test_redis_restart" time="4.5">'
    '<failure message="AssertionError: 3 orders lost">trace\nmore</failure></testcase>'
    '<testcase classname="tests.faults.test_outage" name="test_pg_restart" time="2.0"/>'
)
MACHINE = {
    "hostname": "box1",
    "uname": "Linux 6.1.0 x86_64",
    "cpu": "Example CPU @ 2.0GHz x 2",
    "memory": "7.8 GiB",
    "python": "3.11.2",
    "postgresql": "15.8",
    "redis": "7.0.15",
    "chromium": "Chromium 131.0",
    "commit": "abcdef123456",
    "started": "2026-12-02 15:00",
    "finished": "2026-12-02 15:40",
    "quick": False,
}


def results(tmp_path: Path, *, failing: bool) -> Path:
    (tmp_path / "hostile-input__parsers.xml").write_text(PASSING)
    steps = [{"section": "hostile input", "name": "parsers", "exit": 0, "seconds": 1.2}]
    if failing:
        (tmp_path / "faults__outages.xml").write_text(FAILING)
        steps.append({"section": "faults", "name": "outages", "exit": 1, "seconds": 7.0})
    steps.append({"section": "load", "name": "bench_browsing.py", "exit": 0, "seconds": 30.0})
    figures = [
        {"section": "load", "name": "requests per second", "value": 412.5, "unit": "req/s",
         "note": "50 users", "source": "bench_browsing.py"},
        {"section": "load", "name": "errors", "value": 0, "unit": "", "note": "",
         "source": "bench_browsing.py"},
        {"section": "hostile input", "name": "tickets generated", "value": 40, "unit": "",
         "note": "a | in a note", "source": "tests/hostile/test_gen.py::test_any_ticket"},
        {"section": "weather", "name": "rain", "value": "none", "source": "x.py"},
    ]  # fmt: skip
    (tmp_path / "steps.jsonl").write_text("".join(json.dumps(s) + "\n" for s in steps))
    (tmp_path / "figures.jsonl").write_text(
        "".join(json.dumps(f) + "\n" for f in figures) + "not json\n"
    )
    (tmp_path / "machine.json").write_text(json.dumps(MACHINE))
    return tmp_path


def test_a_passing_run_has_its_tables_machine_line_and_figures(tmp_path):
    text, ok = report.render(results(tmp_path, failing=False))
    assert ok
    assert "**Result: everything passed** (3 tests, 2 runs)." in text
    assert (
        "Machine: host box1; system Linux 6.1.0 x86_64; CPU Example CPU @ 2.0GHz x 2; "
        "memory 7.8 GiB; Python 3.11.2; PostgreSQL 15.8; Redis 7.0.15; Chromium Chromium 131.0."
    ) in text
    assert "Run: 2026-12-02 15:40 UTC on commit abcdef123456." in text
    # One row per test file: a class's tests count with their module's.
    assert "| `tests/hostile/test_gen.py` | 3 | 2 | 0 | 1 | 1.0 s |" in text
    assert "- `tests/hostile/test_gen.py::test_on_postgres`: needs PostgreSQL" in text
    assert "- `tests/hostile/test_gen.py::test_any_ticket`: 40" in text  # 37 + 3 examples
    # Figures by section, then by source, with a | in a value escaped.
    load = text.split("## Load", 1)[1]
    assert "Figures from `bench_browsing.py`:" in load
    assert "| requests per second | 412.5 | req/s | 50 users |" in load
    assert "| errors | 0 |  |  |" in load
    assert "| tickets generated | 40 |  | a \\| in a note |" in text.split("## Hostile input")[1]
    # A figure of a section the renderer does not know still appears, under Other.
    assert "## Other" in text and "| rain | none |  |  |" in text.split("## Other")[1]
    for heading in ("## Faults", "## Hostile input", "## Hostile users", "## Load"):
        assert heading in text
    assert "Nothing was run for this section" in text.split("## Hostile users")[1]
    assert "FAILED" not in text


def test_a_failed_test_and_a_failed_run_read_as_failed(tmp_path):
    text, ok = report.render(results(tmp_path, failing=True))
    assert not ok
    assert "**Result: FAILED**: 1 of 5 tests failed, 1 of 3 runs exited with an error" in text
    faults = text.split("## Faults", 1)[1].split("## Hostile input", 1)[0]
    assert "| `tests/faults/test_outage.py` | 2 | 1 | **1 FAILED** | 0 | 6.5 s |" in faults
    assert (
        "- **FAILED** `tests/faults/test_outage.py::test_redis_restart`: "
        "AssertionError: 3 orders lost"
    ) in faults
    assert "| `outages` | **FAILED** (exit 1) | 7.0 s |" in faults


def test_render_writes_the_file_and_exits_non_zero_on_a_failure(tmp_path):
    out = tmp_path / "docs" / "reliability.md"
    (tmp_path / "run").mkdir()
    directory = results(tmp_path / "run", failing=True)
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--render", str(directory), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert "**Result: FAILED**" in out.read_text()
    (directory / "faults__outages.xml").unlink()
    lines = (directory / "steps.jsonl").read_text().splitlines()
    (directory / "steps.jsonl").write_text("\n".join(x for x in lines if '"exit": 1' not in x))
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--render", str(directory), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "**Result: everything passed**" in out.read_text()


def test_an_unreadable_junit_file_is_a_failure_not_a_silent_gap(tmp_path):
    (tmp_path / "faults__cut.xml").write_text("<testsuites><testsuite")
    text, ok = report.render(tmp_path)
    assert not ok
    assert "**FAILED**: faults__cut.xml is not readable junit XML" in text
