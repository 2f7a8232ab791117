"""Symbol search on a master of ~4,000 rows (the size of KOSPI + KOSDAQ + ETFs/ETNs), in
the shapes people type: a code, a code prefix, a name prefix, a partial name, initial
consonants (ㅅㅅㅈㅈ), mixed (ㅅ성), one consonant (the worst case), an English name.
Also `loadsymbols`' parse + upsert time for the whole master.

A fresh SQLite file database (as demo mode uses); BENCH_SEARCH_ROWS changes the size.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kisweb.settings")
os.environ["KISWEB_VAR_DIR"] = tempfile.mkdtemp(prefix="kisweb-bench-")

import django

django.setup()

from django.core.management import call_command  # noqa: E402

from market.models import Symbol  # noqa: E402
from market.symbols import MasterRow, ParsedFile, bundled_files, load, search  # noqa: E402

ROWS = int(os.environ.get("BENCH_SEARCH_ROWS", "4000"))
REPEATS = 200
# Syllables common in listed Korean names, to make names that collide the way real ones do.
SYLLABLES = "삼성전자현대기아에너지화학바이오제약금융지주증권생명보험건설중공업전기통신반도체"
SUFFIXES = ("", "우", "홀딩스", "머티리얼즈", "테크", "솔루션", "SDS", "파워")


def synthetic_master(count: int) -> list[ParsedFile]:
    """The bundled fixture plus made-up names up to ``count`` rows."""
    files = bundled_files()
    rng = random.Random(11)
    rows, taken = [], {row.code for f in files for row in f.rows}
    while len(rows) + sum(len(f.rows) for f in files) < count:
        code = f"{rng.randrange(1_000_000):06d}"
        if code in taken:
            continue
        taken.add(code)
        name = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 5)))
        rows.append(
            MasterRow(code=code, market="KOSDAQ", kind="stock", name=name + rng.choice(SUFFIXES))
        )
    files.append(ParsedFile("synthetic", frozenset(), rows))
    return files


def main() -> int:
    call_command("migrate", verbosity=0)
    files = synthetic_master(ROWS)
    started = time.perf_counter()
    report = load(files, deactivate_missing=False)
    load_s = time.perf_counter() - started
    print(f"load {report.created} rows in one transaction: {load_s * 1e3:.0f} ms")
    print(f"master size: {Symbol.objects.count()} rows")
    queries = {
        "exact code 005930": "005930",
        "code prefix 0059": "0059",
        "name prefix 삼성": "삼성",
        "partial 전자": "전자",
        "초성 ㅅㅅㅈㅈ": "ㅅㅅㅈㅈ",
        "mixed ㅅ성": "ㅅ성",
        "one consonant ㅅ": "ㅅ",
        "English apple": "apple",
        "no match": "없는종목이름",
    }
    print(f"{'query':<22}{'hits':>5}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for label, query in queries.items():
        search(query)  # warm
        times = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            found = search(query)
            times.append((time.perf_counter() - started) * 1e3)
        cuts = statistics.quantiles(times, n=100, method="inclusive")
        print(f"{label:<22}{len(found):>5}{cuts[49]:>9.2f}{cuts[98]:>9.2f}{max(times):>9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
