"""Realtime data frames: ``<enc>|<TR_ID>|<count>|<payload>`` (docs/kis-protocol.md §7.3–§7.8).

The parser is on the hot path. It splits once on ``|`` and once on ``^``, slices records
by the TR's field count, and converts only the fields an event carries. Prices recur
(they sit on a tick grid), so ``Decimal``/``time`` conversions go through bounded
caches whose lookups stay in C (``dict.__getitem__`` with ``__missing__``). Book levels
(42 numbers a record) are checked here but kept as text; ``OrderBook`` converts them on
first read.

Field counts drift (H0STASP0 59→62, H0STCNI0 23→26): records are read by position and
trailing fields beyond the known layouts are ignored, with one log line per TR.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import time
from decimal import InvalidOperation
from operator import itemgetter

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ..models import Side
from .events import (
    ConversionCache,
    ExecutionNotice,
    NoticeAction,
    OrderBook,
    Trade,
    to_decimal,
)
from .events import cached_decimal as _DEC

log = logging.getLogger(__name__)

Event = Trade | OrderBook | ExecutionNotice


class MalformedFrame(ValueError):
    """A data frame that cannot be read. The session drops it and carries on."""


def _to_time(text: str) -> time | None:
    if not text:
        return None
    return time(int(text[0:2]), int(text[2:4]), int(text[4:6]))


_TIME = ConversionCache(_to_time).__getitem__


# -- book checks: a book keeps its numbers as text (``OrderBook``) and converts them on first
# read, so the parser checks here that they will convert. A malformed number raises now and
# ``parse`` turns it into ``MalformedFrame``, as when books converted eagerly.


_LONGEST_DIGITS = 20


def _plain_digits(texts: Sequence[str]) -> bool:
    """Every text is non-empty ASCII digits, as is every number of a KRX book.
    (``bytes.isdigit`` is a table lookup per byte; ``str.isdigit`` consults the Unicode
    database and accepts digits that ``int`` refuses.)"""
    joined = "".join(texts)
    return (
        joined.isascii()
        and joined.encode().isdigit()
        and all(texts)
        # a run of digits past any price or quantity is converted (and refused) now, not
        # on the consumer's first read (``int()`` refuses 4,300 digits, ``to_decimal`` 31)
        and max(map(len, texts), default=0) <= _LONGEST_DIGITS
    )


# -- record builders: (fields, offset, record length, tr_id) -> event ------------------------


def _domestic_trade(f: list[str], o: int, n: int, tr_id: str) -> Trade:
    """H0STCNT0, 46 fields (§7.8)."""
    d = _DEC
    return Trade(
        tr_id,
        f[o],
        f[o],
        _TIME(f[o + 1]),
        d(f[o + 2]),
        d(f[o + 4]),
        d(f[o + 5]),
        int(f[o + 12]),
        int(f[o + 13]),
        d(f[o + 7]),
        d(f[o + 8]),
        d(f[o + 9]),
        d(f[o + 10]),
        d(f[o + 11]),
    )


def _domestic_book(f: list[str], o: int, n: int, tr_id: str) -> OrderBook:
    """H0STASP0, 59 or 62 fields (§7.8): 10 ask then 10 bid prices, their quantities, then
    the two totals: fields 3–44, already in ``OrderBook``'s layout."""
    texts = f[o + 3 : o + 45]
    book = OrderBook(tr_id, f[o], f[o], _TIME(f[o + 1]), texts)
    if not _plain_digits(texts):  # an empty field, a sign, garbage: convert (or raise) now
        book.convert()
    return book


_FALLING = frozenset({"4", "5"})  # PRDY_VRSS_SIGN / SIGN: lower limit, down


def _us_trade(f: list[str], o: int, n: int, tr_id: str) -> Trade:
    """HDFSCNT0, 26 fields with RSYM first (§7.8). DIFF comes unsigned (``4.4700`` with
    SIGN 5 in a capture): a fall gets its minus from SIGN."""
    d = _DEC
    change = d(f[o + 13])
    if f[o + 12] in _FALLING:
        change = -abs(change)
    return Trade(
        tr_id,
        f[o],
        f[o + 1],
        _TIME(f[o + 5]),
        d(f[o + 11]),
        change,
        d(f[o + 14]),
        int(f[o + 19]),
        int(f[o + 20]),
        d(f[o + 8]),
        d(f[o + 9]),
        d(f[o + 10]),
        d(f[o + 16]),
        d(f[o + 15]),
    )


def _us_levels(depth: int) -> Callable[[Sequence[str]], tuple[str, ...]]:
    """Picks an HDFSASP0 record's numbers in ``OrderBook``'s layout: PASK, PBID, VASK, VBID
    of each level (six fields a level from 11), then AVOL (8) and BVOL (7); in one C call."""
    level = range(11, 11 + 6 * depth, 6)
    asks, bids = (i + 1 for i in level), level
    ask_quantities, bid_quantities = (i + 3 for i in level), (i + 2 for i in level)
    first, second, *rest = (*asks, *bids, *ask_quantities, *bid_quantities, 8, 7)
    pick: Callable[[Sequence[str]], tuple[str, ...]] = itemgetter(first, second, *rest)
    return pick


_US_LEVELS = {1: _us_levels(1), 10: _us_levels(10)}


def _us_book(f: list[str], o: int, n: int, tr_id: str) -> OrderBook:
    """HDFSASP0: 11 header fields, then PBID/PASK/VBID/VASK/DBID/DASK per level; 1 level
    (17 fields) or 10 (71) — §7.8 leaves the count open. BVOL (7) is the bid total, AVOL
    (8) the ask total."""
    depth = 10 if n >= 71 else 1
    record = f if o == 0 else f[o : o + n]
    texts = _US_LEVELS[depth](record)
    # The prices carry decimals, which the digit check cannot vouch for: convert them now
    # (they recur on the cent grid: cache hits) and leave only the quantities as text.
    prices = tuple(map(_DEC, texts[: 2 * depth]))
    book = OrderBook(tr_id, record[0], record[1], _TIME(record[4]), texts, prices)
    if not _plain_digits(texts[2 * depth :]):
        book.convert()
    return book


_SIDES = {"01": Side.SELL, "02": Side.BUY}
_ACTIONS = {"0": NoticeAction.ORDER, "1": NoticeAction.REVISE, "2": NoticeAction.CANCEL}


def _domestic_notice(f: list[str], o: int, n: int, tr_id: str) -> ExecutionNotice:
    """H0STCNI0/9: 26 fields, or the older 23 (ODER_PRC moves from 22 to 25; §7.8)."""
    name, order_price = (f[o + 24], f[o + 25]) if n >= 26 else (f[o + 21], f[o + 22])
    return ExecutionNotice(
        tr_id=tr_id,
        hts_id=f[o],
        account_no=f[o + 1],
        order_no=f[o + 2],
        original_order_no=f[o + 3],
        branch_no=f[o + 15],
        side=_SIDES[f[o + 4]],
        action=_ACTIONS[f[o + 5]],
        symbol=f[o + 8],
        symbol_name=name,
        is_fill=f[o + 13] == "2",
        rejected=f[o + 12] == "1",
        quantity=int(f[o + 9] or 0),
        price=to_decimal(f[o + 10]),
        order_quantity=int(f[o + 16] or 0),
        order_price=to_decimal(order_price) if order_price else None,
        time=_to_time(f[o + 11]),
    )


# ODER_COND → implied decimals of CNTG_UNPR (US 4, JP 1, CN/HK 3, VN 0; §7.8).
_OVERSEAS_DECIMALS = {"6": 4, "7": 4, "8": 4, "9": 4, "D": 1, "E": 0, "F": 0}


def _overseas_notice(f: list[str], o: int, n: int, tr_id: str) -> ExecutionNotice:
    """H0GSCNI0/9, 25 fields; the price carries implied decimals by market (§7.8)."""
    decimals = _OVERSEAS_DECIMALS.get(f[o + 18], 3)
    return ExecutionNotice(
        tr_id=tr_id,
        hts_id=f[o],
        account_no=f[o + 1],
        order_no=f[o + 2],
        original_order_no=f[o + 3],
        branch_no=f[o + 14],
        side=_SIDES[f[o + 4]],
        action=_ACTIONS[f[o + 5]],
        symbol=f[o + 7],
        symbol_name=f[o + 17],
        is_fill=f[o + 12] == "2",
        rejected=f[o + 11] == "1",
        quantity=int(f[o + 8] or 0),
        price=to_decimal(f[o + 9]).scaleb(-decimals),
        order_quantity=int(f[o + 15] or 0),
        order_price=None,
        time=_to_time(f[o + 10]),
    )


@dataclass(frozen=True, slots=True)
class Schema:
    """A TR's known record lengths (preferred first) and its builder."""

    lengths: tuple[int, ...]
    build: Callable[[list[str], int, int, str], Event]

    @property
    def minimum(self) -> int:
        return min(self.lengths)

    @property
    def largest(self) -> int:
        return max(self.lengths)


SCHEMAS: dict[str, Schema] = {
    "H0STCNT0": Schema((46,), _domestic_trade),
    "H0STASP0": Schema((62, 59), _domestic_book),
    "H0STCNI0": Schema((26, 23), _domestic_notice),
    "H0STCNI9": Schema((26, 23), _domestic_notice),
    "HDFSCNT0": Schema((26,), _us_trade),
    "HDFSASP0": Schema((17, 71), _us_book),
    "H0GSCNI0": Schema((25,), _overseas_notice),
    "H0GSCNI9": Schema((25,), _overseas_notice),
}
NOTICE_TRS = frozenset({"H0STCNI0", "H0STCNI9", "H0GSCNI0", "H0GSCNI9"})


def decrypt_payload(payload: str, key: str, iv: str) -> str:
    """AES-256-CBC, base64, PKCS#7; key and iv are the ack's strings as ASCII bytes,
    not hex (docs/kis-protocol.md §7.4)."""
    try:
        raw = base64.b64decode(payload, validate=True)
        decryptor = Cipher(algorithms.AES(key.encode()), modes.CBC(iv.encode())).decryptor()
        padded = decryptor.update(raw) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return (unpadder.update(padded) + unpadder.finalize()).decode("utf-8")
    except (binascii.Error, ValueError) as exc:
        raise MalformedFrame(f"notice payload does not decrypt ({type(exc).__name__})") from None


class FrameParser:
    """Turns data frames into events. Keeps the notice key/iv per TR (from the acks) and
    remembers which TRs' drift it has already reported."""

    def __init__(self) -> None:
        self._notice_keys: dict[str, tuple[str, str]] = {}
        self._drift_reported: set[str] = set()

    def set_notice_key(self, tr_id: str, key: str, iv: str) -> None:
        self._notice_keys[tr_id] = (key, iv)

    def forget_notice_keys(self) -> None:
        """A new connection brings new key/iv pairs (docs/kis-protocol.md §7.5)."""
        self._notice_keys.clear()

    def parse(self, frame: str) -> list[Event]:
        """Events in ``frame``; raises ``MalformedFrame`` for anything unreadable."""
        parts = frame.split("|", 3)
        if len(parts) != 4:
            raise MalformedFrame("not enc|TR|count|payload")
        enc, tr_id, count_text, payload = parts
        schema = SCHEMAS.get(tr_id)
        if schema is None:
            raise MalformedFrame(f"no layout for {tr_id[:16]!r}")
        # ASCII digits only: ``"²".isdigit()`` is true and ``int()`` refuses it. KIS sends
        # three digits; a long run would only make ``int()`` slow or raise.
        short = len(count_text) <= 6 and count_text.isascii()
        count = int(count_text) if short and count_text.isdigit() else 0
        if count < 1:
            raise MalformedFrame("bad record count")
        if enc == "1":
            if tr_id not in self._notice_keys:
                raise MalformedFrame(f"encrypted {tr_id} frame before its key arrived")
            payload = decrypt_payload(payload, *self._notice_keys[tr_id])
        elif enc != "0":
            raise MalformedFrame("bad encryption flag")
        fields = payload.split("^")
        total = len(fields)
        if count == 1 and total in schema.lengths:  # the usual frame: no drift, no slicing
            length = total
        else:
            length = self._record_length(tr_id, schema, total, count)
        build = schema.build
        try:
            if count == 1:
                return [build(fields, 0, length, tr_id)]
            return [build(fields, o, length, tr_id) for o in range(0, count * length, length)]
        except (ValueError, KeyError, IndexError, InvalidOperation) as exc:
            raise MalformedFrame(f"{tr_id} record unreadable ({type(exc).__name__})") from None

    def _record_length(self, tr_id: str, schema: Schema, total: int, count: int) -> int:
        for length in schema.lengths:  # §7.8: prefer 62 over 59 for books
            if total == count * length:
                return length
        if total % count:
            raise MalformedFrame(f"{tr_id}: {total} fields do not split into {count} records")
        length = total // count
        if length < schema.minimum:
            raise MalformedFrame(f"{tr_id}: {length} fields, expected {schema.lengths}")
        if tr_id not in self._drift_reported:
            self._drift_reported.add(tr_id)
            log.warning(
                "%s records carry %d fields (known layouts: %s); extra fields ignored",
                tr_id,
                length,
                "/".join(map(str, schema.lengths)),
            )
        return length
