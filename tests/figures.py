"""Figures for the reliability report: tests and benchmarks record what they measured.

``make report`` sets ``KISWEB_REPORT_DIR``; each ``record`` then appends one JSON line to
``figures.jsonl`` there, and ``tools/report.py`` renders them into ``docs/reliability.md``.
Without the variable (``make test``) recording costs nothing and writes nothing.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path


def record(
    section: str, name: str, value: object, unit: str = "", note: str = "", source: str = ""
) -> None:
    """One measured figure. ``section`` groups the report (``faults``, ``hostile input``,
    ``hostile users``, ``load``); ``name`` says what was measured, in words; ``source`` is
    the running test or script unless given."""
    directory = os.environ.get("KISWEB_REPORT_DIR")
    if not directory:
        return
    line = {
        "section": section,
        "name": name,
        "value": value if isinstance(value, (int, float, str, bool)) else str(value),
        "unit": unit,
        "note": note,
        "source": source or os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0] or _script(),
        "at": time.time(),
    }
    path = Path(directory) / "figures.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line, ensure_ascii=False) + "\n")


def _script() -> str:
    import sys

    return Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
