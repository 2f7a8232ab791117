"""Per-field shapes of KIS realtime records, derived from the captures in
``frame_captures`` (docs/kis-protocol.md §7.9): every field of every known layout has a
rule, and each sign field must agree with the figures it signs."""

from __future__ import annotations

import re
from decimal import Decimal

DIGITS = r"\d+"  # unsigned integer, no padding rule
INT = r"-?\d+"  # signed integer: a minus, never a plus
DEC2 = r"-?\d+\.\d{2}"  # signed, exactly two decimals
UDEC2 = r"\d+\.\d{2}"
UDEC4 = r"\d+\.\d{4}"  # US prices: four decimals (ZDIV 4)
PLUS_DEC2 = r"[+-]\d+\.\d{2}|0\.00"  # HDFSCNT0 RATE: +0.11, -1.25, flat 0.00
HHMMSS = r"([01]\d|2[0-3])[0-5]\d[0-5]\d"
YYYYMMDD = r"20\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])"
SIGN = r"[1-5]"  # 1 upper limit, 2 up, 3 flat, 4 lower limit, 5 down
HOUR_CLS = r"[0ABCD]"
KRX_CODE = r"[0-9A-Z]\d{5}"
US_KEY = r"[DR][A-Z]{3}[A-Z0-9.]+"
TICKER = r"[A-Z0-9.]+"
TEXT = r".+"
ANY = r".*"


def padded(width: int) -> str:
    return rf"\d{{{width}}}"


def one_of(*codes: str) -> str:
    return "|".join(map(re.escape, codes))


def layout(length: int, rules: dict[int | range, str]) -> list[str]:
    """A rule per index; every index of ``range(length)`` must be covered exactly once."""
    table: list[str | None] = [None] * length
    for where, rule in rules.items():
        for index in where if isinstance(where, range) else (where,):
            assert table[index] is None, index
            table[index] = rule
    assert None not in table, table.index(None)
    return [rule for rule in table if rule is not None]


H0STCNT0 = layout(46, {
    0: KRX_CODE, 1: HHMMSS, 2: DIGITS, 3: SIGN, 4: INT, 5: DEC2, 6: UDEC2,
    range(7, 17): DIGITS, 17: INT, 18: UDEC2, 19: DIGITS, 20: DIGITS, 21: one_of("1", "3", "5"),
    22: UDEC2, 23: UDEC2, 24: HHMMSS, 25: SIGN, 26: INT, 27: HHMMSS, 28: SIGN, 29: INT,
    30: HHMMSS, 31: SIGN, 32: INT, 33: YYYYMMDD, 34: r"\d{2}", 35: one_of("Y", "N"),
    range(36, 40): DIGITS, 40: UDEC2, 41: DIGITS, 42: UDEC2, 43: HOUR_CLS, 44: r"[0-9A-Z]?",
    45: DIGITS,
})  # fmt: skip

H0STASP0 = layout(62, {
    0: KRX_CODE, 1: HHMMSS, 2: HOUR_CLS, range(3, 50): DIGITS, 50: INT, 51: SIGN, 52: DEC2,
    53: DIGITS, range(54, 58): INT, 58: r"\d", 59: DIGITS, 60: DIGITS, 61: r"\d",
})  # fmt: skip

HDFSCNT0 = layout(26, {
    0: US_KEY, 1: TICKER, 2: r"\d", 3: YYYYMMDD, 4: YYYYMMDD, 5: HHMMSS, 6: YYYYMMDD,
    7: HHMMSS, range(8, 12): UDEC4, 12: SIGN, 13: UDEC4, 14: PLUS_DEC2, 15: UDEC4, 16: UDEC4,
    range(17, 24): DIGITS, 24: UDEC2, 25: one_of("1", "2", "3"),
})  # fmt: skip

_US_LEVEL = {0: UDEC4, 1: UDEC4, 2: DIGITS, 3: DIGITS, 4: INT, 5: INT}
HDFSASP0 = layout(71, {
    0: US_KEY, 1: TICKER, 2: r"\d", 3: YYYYMMDD, 4: HHMMSS, 5: YYYYMMDD, 6: HHMMSS,
    7: DIGITS, 8: DIGITS, 9: INT, 10: INT,
    **{11 + 6 * level + offset: rule for level in range(10) for offset, rule in _US_LEVEL.items()},
})  # fmt: skip

# The 23 fields every captured domestic notice has. Field 18 is "1Y" in the newer
# captures (ORD_EXG_GB 1 + POPUP_YN Y) and the symbol name in older ones.
H0STCNI0 = layout(23, {
    0: TEXT, 1: padded(10), 2: padded(10), 3: rf"|{padded(10)}", 4: one_of("01", "02"),
    5: one_of("0", "1", "2"), 6: r"\d{2}", 7: r"\d", 8: KRX_CODE, 9: padded(10),
    10: padded(9), 11: HHMMSS, 12: one_of("0", "1"), 13: one_of("1", "2"),
    14: one_of("1", "2", "3"), 15: padded(5), 16: padded(9), 17: TEXT, 18: TEXT,
    19: r"\d{2}", 20: rf"|{YYYYMMDD}", 21: TEXT, 22: rf"|{padded(9)}",
})  # fmt: skip

# No decrypted overseas notice was found in public code: this is the documented layout
# (§7.8) with the simulator's choices for what the documents leave open.
H0GSCNI0 = layout(25, {
    0: TEXT, 1: padded(10), 2: padded(10), 3: rf"|{padded(10)}", 4: one_of("01", "02"),
    5: one_of("0", "1", "2"), 6: r"[1-9A-D]", 7: TICKER, 8: DIGITS, 9: padded(9),
    10: rf"|{HHMMSS}", 11: one_of("0", "1"), 12: one_of("1", "2"), 13: one_of("1", "2", "3"),
    14: padded(5), 15: DIGITS, 16: TEXT, 17: TEXT, 18: r"[4-9A-F]", 19: one_of("10", "15"),
    range(20, 24): ANY, 24: padded(12),
})  # fmt: skip

LAYOUTS = {
    "H0STCNT0": H0STCNT0,
    "H0STASP0": H0STASP0,
    "HDFSCNT0": HDFSCNT0,
    "HDFSASP0": HDFSASP0,
    "H0STCNI0": H0STCNI0,
    "H0STCNI9": H0STCNI0,
    "H0GSCNI0": H0GSCNI0,
    "H0GSCNI9": H0GSCNI0,
}
OLDER_LENGTHS = {"H0STASP0": 59}  # books captured before the KMID_* fields

# (sign index, figure index, how the figure carries the direction)
SIGNED = {
    "H0STCNT0": [(3, 4, "minus"), (3, 5, "minus"), (25, 26, "minus"), (28, 29, "minus"),
                 (31, 32, "minus")],
    "H0STASP0": [(51, 50, "minus"), (51, 52, "minus")],
    "HDFSCNT0": [(12, 13, "unsigned"), (12, 14, "plus")],
}  # fmt: skip


def _sign_agrees(sign: str, text: str, style: str) -> bool:
    value = Decimal(text)
    if style == "unsigned":
        return value == 0 if sign == "3" else value > 0
    if sign == "3":
        return value == 0 and text[0].isdigit()
    rising = sign in "12"
    if style == "plus" and value:
        return text[0] == ("+" if rising else "-")
    return (value >= 0 and text[0].isdigit()) if rising else value <= 0


def violations(tr_id: str, record: list[str]) -> list[str]:
    """What in ``record`` breaks the shapes (empty when it keeps them). Fields past the
    known layout are not judged: KIS appends fields now and then."""
    rules = LAYOUTS[tr_id]
    known = len(rules) if len(record) >= len(rules) else OLDER_LENGTHS.get(tr_id, len(rules))
    if len(record) < known:
        return [f"{len(record)} fields, expected {len(rules)}"]
    found = [
        f"field {i} {record[i]!r} is not {rules[i]!r}"
        for i in range(known)
        if not re.fullmatch(rules[i], record[i])
    ]
    for sign, figure, style in SIGNED.get(tr_id, []):
        if figure < known and not found and not _sign_agrees(record[sign], record[figure], style):
            found.append(f"field {figure} {record[figure]!r} disagrees with sign {record[sign]}")
    return found
