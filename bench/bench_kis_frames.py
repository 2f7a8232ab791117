"""Realtime frame parsing: records/s for H0STCNT0, H0STASP0 and HDFSASP0 (1 and 10 levels).

Compares, on the same frames in the same run: bare splitting (``|`` then ``^`` then slicing
records), the naive approach (a dict of every field per record), pandas as the official
samples use it (only if importable), kisweb.kis's typed events as the parser returns them,
and typed events with every number read (an ``OrderBook`` converts its levels on first
read, so that line shows what a consumer that wants ``Decimal``/``int`` pays).

Target: typed events at no less than half the speed of bare splitting. Each figure is the
best of ``ROUNDS`` short runs; a round runs every approach once on the same slice of frames,
in an order that rotates from round to round, so that load from other processes on the
machine falls on all of them alike and the best runs of each come from quiet moments.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import fields
from operator import attrgetter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kisweb.kis.realtime import FrameParser, OrderBook, Trade

FRAMES_PER_KIND = 20_000
ROUNDS = 16
SLICES = 4  # a round runs on FRAMES_PER_KIND / SLICES frames
TARGET_RATIO = 0.5

READ_EVERY_NUMBER = {
    Trade: attrgetter(*(f.name for f in fields(Trade))),
    OrderBook: attrgetter(
        "ask_prices",
        "ask_quantities",
        "bid_prices",
        "bid_quantities",
        "total_ask_quantity",
        "total_bid_quantity",
    ),
}


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
    """One-record H0STASP0 frames of 62 fields, ten levels a side around a random walk."""
    price, frames = 71_000, []
    for _ in range(FRAMES_PER_KIND):
        price += 100 * rng.choice((-1, 0, 0, 1))
        fields = [str(rng.randint(0, 9_999)) for _ in range(62)]
        fields[0], fields[1], fields[2] = "005930", "093015", "0"
        fields[3:13] = [str(price + 100 * (i + 1)) for i in range(10)]
        fields[13:23] = [str(price - 100 * i) for i in range(10)]
        frames.append(f"0|H0STASP0|001|{'^'.join(fields)}")
    return frames


def us_book_frames(rng: random.Random, levels: int) -> list[str]:
    """One-record HDFSASP0 frames of 17 fields (one level, the free US feed) or 71 (ten),
    prices with four decimals on a one-cent grid."""
    cents, frames = 19_125, []
    for _ in range(FRAMES_PER_KIND):
        cents += rng.choice((-1, 0, 0, 1))
        fields = ["DNASAAPL", "AAPL", "4", "20260709", "101500", "20260710", "001500"]
        fields += [str(rng.randint(0, 99_999)) for _ in range(4)]  # BVOL AVOL BDVL ADVL
        for i in range(levels):
            bid, ask = cents - i, cents + 1 + i
            fields += [f"{bid / 100:.4f}", f"{ask / 100:.4f}"]
            fields += [str(rng.randint(1, 5_000)) for _ in range(4)]  # VBID VASK DBID DASK
        frames.append(f"0|HDFSASP0|001|{'^'.join(fields)}")
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


def typed_read(frames: list[str], length: int) -> int:
    parser = FrameParser()
    records = 0
    for frame in frames:
        for event in parser.parse(frame):
            READ_EVERY_NUMBER[type(event)](event)
            records += 1
    return records


def rate(fn, frames: list[str], length: int) -> float:
    started = time.perf_counter()
    records = fn(frames, length)
    return records / (time.perf_counter() - started)


def best_rates(fns, frames: list[str], length: int) -> list[float]:
    """Each approach's best rate over ``ROUNDS`` interleaved rounds."""
    best = [0.0] * len(fns)
    size = len(frames) // SLICES
    for round_no in range(ROUNDS):
        part = frames[round_no % SLICES * size :][:size]
        for k in range(len(fns)):
            i = (round_no + k) % len(fns)
            best[i] = max(best[i], rate(fns[i], part, length))
    return best


def main() -> int:
    rng = random.Random(0)
    try:
        import pandas  # noqa: F401

        have_pandas = True
    except ImportError:
        have_pandas = False
    failed = False
    # The issue sets the target for the domestic trade and book frames; the US books are
    # measured the same way and reported, without a gate.
    for name, frames, length, gated in (
        ("H0STCNT0", trade_frames(rng), 46, True),
        ("H0STASP0", book_frames(rng), 62, True),
        ("HDFSASP0 1 level", us_book_frames(rng, 1), 17, False),
        ("HDFSASP0 10 levels", us_book_frames(rng, 10), 71, False),
    ):
        bare_rate, dict_rate, typed_rate, read_rate = best_rates(
            (bare, naive_dicts, typed, typed_read), frames, length
        )
        print(f"{name + ':':19} bare split               {bare_rate:12,.0f} records/s")
        print(f"{name + ':':19} dict per record          {dict_rate:12,.0f} records/s")
        if have_pandas:
            pandas_rate = rate(pandas_frames, frames[:2000], length)
            print(f"{name + ':':19} pandas                   {pandas_rate:12,.0f} records/s")
        else:
            print(f"{name + ':':19} pandas                   (not installed)")
        print(f"{name + ':':19} typed events             {typed_rate:12,.0f} records/s")
        print(f"{name + ':':19} typed, every number read {read_rate:12,.0f} records/s")
        ratio = typed_rate / bare_rate
        if gated:
            verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
            failed |= verdict == "FAIL"
            target = f"(target >= {TARGET_RATIO}) {verdict}"
            print(f"{name + ':':19} typed / bare = {ratio:.2f} {target}")
        else:
            print(f"{name + ':':19} typed / bare = {ratio:.2f} (no target)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
