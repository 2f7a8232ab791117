"""Realtime frame parsing: records/s for H0STCNT0 and H0STASP0 frames.

Compares, on the same frames in the same run: bare splitting (``|`` then ``^`` then slicing
records), the naive approach (a dict of every field per record), pandas as the official
samples use it (only if importable), and kisweb.kis's typed events. Target: typed events at
no less than half the speed of bare splitting.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kisweb.kis.realtime import FrameParser

FRAMES_PER_KIND = 20_000
TARGET_RATIO = 0.5


def trade_frames(rng: random.Random) -> list[str]:
    """One- and four-record H0STCNT0 frames with a random walk on the 100-won grid."""
    price, volume, frames = 71_000, 1_000_000, []
    for i in range(FRAMES_PER_KIND):
        records = []
        for _ in range(4 if i % 5 == 0 else 1):
            price += 100 * rng.choice((-1, 0, 0, 1))
            qty = rng.randint(1, 500)
            volume += qty
            fields = [str(rng.randint(0, 99_999)) for _ in range(46)]
            fields[0], fields[1] = "005930", f"09{rng.randint(0, 59):02d}{rng.randint(0, 59):02d}"
            fields[2], fields[4], fields[5] = str(price), str(price - 71_000), "0.42"
            high, low = price + 300, price - 300
            fields[7:12] = ["71000", str(high), str(low), str(price + 100), str(price)]
            fields[12], fields[13], fields[44] = str(qty), str(volume), ""
            records.append("^".join(fields))
        frames.append(f"0|H0STCNT0|{len(records):03d}|{'^'.join(records)}")
    return frames


def book_frames(rng: random.Random) -> list[str]:
    price, frames = 71_000, []
    for _ in range(FRAMES_PER_KIND):
        price += 100 * rng.choice((-1, 0, 0, 1))
        fields = [str(rng.randint(0, 9_999)) for _ in range(62)]
        fields[0], fields[1], fields[2] = "005930", "093015", "0"
        fields[3:13] = [str(price + 100 * (i + 1)) for i in range(10)]
        fields[13:23] = [str(price - 100 * i) for i in range(10)]
        frames.append(f"0|H0STASP0|001|{'^'.join(fields)}")
    return frames


def bare(frames: list[str], length: int) -> int:
    records = 0
    for frame in frames:
        _enc, _tr, count, payload = frame.split("|", 3)
        fields = payload.split("^")
        n = int(count)
        chunks = [fields[i * length : (i + 1) * length] for i in range(n)]
        records += len(chunks)
    return records


def naive_dicts(frames: list[str], length: int) -> int:
    columns = [f"F{i}" for i in range(length)]
    records = 0
    for frame in frames:
        _enc, _tr, count, payload = frame.split("|", 3)
        fields = payload.split("^")
        for i in range(int(count)):
            row = dict(zip(columns, fields[i * length : (i + 1) * length], strict=True))
            records += bool(row)
    return records


def pandas_frames(frames: list[str], length: int) -> int:
    import io

    import pandas as pd

    columns = [f"F{i}" for i in range(length)]
    records = 0
    for frame in frames:
        _enc, _tr, _count, payload = frame.split("|", 3)
        table = pd.read_csv(io.StringIO(payload), header=None, sep="^", names=columns, dtype=object)
        records += len(table)
    return records


def typed(frames: list[str], length: int) -> int:
    parser = FrameParser()
    return sum(len(parser.parse(frame)) for frame in frames)


def rate(fn, frames: list[str], length: int) -> float:
    started = time.perf_counter()
    records = fn(frames, length)
    return records / (time.perf_counter() - started)


def best_rates(fns, frames: list[str], length: int, rounds: int = 5) -> list[float]:
    """Best of ``rounds``, the approaches interleaved so that load from other processes
    on the machine falls on all of them alike."""
    best = [0.0] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            best[i] = max(best[i], rate(fn, frames, length))
    return best


def main() -> int:
    rng = random.Random(0)
    try:
        import pandas  # noqa: F401

        have_pandas = True
    except ImportError:
        have_pandas = False
    failed = False
    for name, frames, length in (
        ("H0STCNT0", trade_frames(rng), 46),
        ("H0STASP0", book_frames(rng), 62),
    ):
        bare_rate, dict_rate, typed_rate = best_rates((bare, naive_dicts, typed), frames, length)
        print(f"{name}: bare split        {bare_rate:12,.0f} records/s")
        print(f"{name}: dict per record   {dict_rate:12,.0f} records/s")
        if have_pandas:
            print(f"{name}: pandas            {rate(pandas_frames, frames[:2000], length):12,.0f}")
        else:
            print(f"{name}: pandas            (not installed)")
        ratio = typed_rate / bare_rate
        verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
        failed |= verdict == "FAIL"
        print(f"{name}: typed events      {typed_rate:12,.0f} records/s")
        print(f"{name}: typed / bare = {ratio:.2f} (target >= {TARGET_RATIO}) {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
