"""The symbol master: KIS's published master files read, loaded in bulk, and searched.

Layouts (facts from the official repository's ``stocks_info`` headers and scripts):

- ``kospi_code.mst`` / ``kosdaq_code.mst``: cp949, one record a line. A head of short code
  (9 bytes), standard code (ISIN, 12) and the Korean name, then a fixed-width tail of
  attributes: 227 bytes for KOSPI, 221 for KOSDAQ (the scripts slice 228/222 characters
  including the line feed). The tail is read from the end of the line, so the name's width
  never matters; the fixture pads names to 40 bytes as third-party readers do.
- ``nasmst.cod`` / ``nysmst.cod`` / ``amsmst.cod``: cp949, tab-separated, 24 columns
  (national code, exchange id, EXCD, exchange name, symbol, realtime symbol, Korean name,
  English name, security type 1 index/2 stock/3 ETP/4 warrant, currency, decimals, data
  type, base price, bid/ask lot, open/close times, DR flag and country, sector, index flag,
  tick type, ETP kind 001 ETF/002 ETN/..., tick detail). Older files stop after the tick type.

Search is by code or name: prefix, partial and initial-consonant (초성) search, "ㅅ성" too.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path, PurePosixPath

from django.db import transaction

from market.models import US_ORDER_EXCHANGE, Symbol

BUNDLED_DIR = Path(__file__).resolve().parent / "data"
BUNDLED_FILES = ("kospi_code.mst", "kosdaq_code.mst", "nasmst.cod", "nysmst.cod", "amsmst.cod")
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024
SEARCH_LIMIT = 20
MAX_QUERY_CHARS = 40

# ----------------------------------------------------------------- layouts (widths in bytes)

KOSPI_TAIL: tuple[tuple[str, int], ...] = (
    ("group", 2), ("cap_size", 1), ("sector_large", 4), ("sector_medium", 4),
    ("sector_small", 4), ("manufacturing", 1), ("low_liquidity", 1), ("governance", 1),
    ("kospi200_sector", 1), ("kospi100", 1), ("kospi50", 1), ("krx", 1), ("etp_kind", 1),
    ("elw_issuer", 1), ("krx100", 1), ("krx_auto", 1), ("krx_semi", 1), ("krx_bio", 1),
    ("krx_bank", 1), ("spac", 1), ("krx_energy", 1), ("krx_steel", 1), ("short_term_hot", 1),
    ("krx_media", 1), ("krx_construction", 1), ("deleted", 1), ("krx_securities", 1),
    ("krx_ship", 1), ("krx_insurance", 1), ("krx_transport", 1), ("sri", 1),
    ("base_price", 9), ("lot", 5), ("after_hours_lot", 5), ("halted", 1), ("liquidation", 1),
    ("administrative", 1), ("market_warning", 2), ("warning_notice", 1),
    ("unfaithful_disclosure", 1), ("backdoor_listing", 1), ("ex_rights", 2),
    ("face_value_change", 2), ("capital_increase", 2), ("margin_rate", 3), ("credit", 1),
    ("credit_days", 3), ("prev_volume", 12), ("face_value", 12), ("listed_on", 8),
    ("listed_shares", 15), ("capital", 21), ("fiscal_month", 2), ("ipo_price", 7),
    ("preferred", 1), ("short_sale_hot", 1), ("abnormal_rise", 1), ("krx300", 1),
    ("kospi", 1), ("sales", 9), ("operating_profit", 9), ("ordinary_profit", 9),
    ("net_income", 5), ("roe", 9), ("base_month", 8), ("market_cap", 9), ("group_company", 3),
    ("credit_limit_over", 1), ("collateral_loan", 1), ("stock_lending", 1),
)  # fmt: skip
KOSDAQ_TAIL: tuple[tuple[str, int], ...] = (
    ("group", 2), ("cap_size", 1), ("sector_large", 4), ("sector_medium", 4),
    ("sector_small", 4), ("venture", 1), ("low_liquidity", 1), ("krx", 1), ("etp_kind", 1),
    ("krx100", 1), ("krx_auto", 1), ("krx_semi", 1), ("krx_bio", 1), ("krx_bank", 1),
    ("spac", 1), ("krx_energy", 1), ("krx_steel", 1), ("short_term_hot", 1),
    ("krx_media", 1), ("krx_construction", 1), ("caution", 1), ("krx_securities", 1),
    ("krx_ship", 1), ("krx_insurance", 1), ("krx_transport", 1), ("kosdaq150", 1),
    ("base_price", 9), ("lot", 5), ("after_hours_lot", 5), ("halted", 1), ("liquidation", 1),
    ("administrative", 1), ("market_warning", 2), ("warning_notice", 1),
    ("unfaithful_disclosure", 1), ("backdoor_listing", 1), ("ex_rights", 2),
    ("face_value_change", 2), ("capital_increase", 2), ("margin_rate", 3), ("credit", 1),
    ("credit_days", 3), ("prev_volume", 12), ("face_value", 12), ("listed_on", 8),
    ("listed_shares", 15), ("capital", 21), ("fiscal_month", 2), ("ipo_price", 7),
    ("preferred", 1), ("short_sale_hot", 1), ("abnormal_rise", 1), ("krx300", 1),
    ("sales", 9), ("operating_profit", 9), ("ordinary_profit", 9), ("net_income", 5),
    ("roe", 9), ("base_month", 8), ("market_cap", 9), ("group_company", 3),
    ("credit_limit_over", 1), ("collateral_loan", 1), ("stock_lending", 1),
)  # fmt: skip
SHORT_CODE_BYTES = 9
STANDARD_CODE_BYTES = 12
NAME_BYTES = 40  # the fixture's width; the reader does not depend on it
MAX_NAME_BYTES = 100

US_COLUMNS = (
    "national", "exchange_id", "excd", "exchange_name", "symbol", "realtime_symbol",
    "name", "name_en", "security_type", "currency", "decimals", "data_type", "base_price",
    "bid_lot", "ask_lot", "opens", "closes", "is_dr", "dr_country", "sector", "index_flag",
    "tick_type", "etp_kind", "tick_detail",
)  # fmt: skip
US_MIN_COLUMNS = 22  # through the tick type: files before the ETP columns were added

# Security group codes (scrt_grp_cls_code) -> our kind; anything else is "other".
GROUP_KIND = {"ST": Symbol.Kind.STOCK, "EF": Symbol.Kind.ETF, "FE": Symbol.Kind.ETF,
              "EN": Symbol.Kind.ETN}  # fmt: skip

_CODE_RE = re.compile(r"[0-9A-Z]{1,9}")
_US_CODE_RE = re.compile(r"[A-Z0-9][A-Z0-9.\-/]{0,15}")


class MasterFileError(ValueError):
    """A master file that cannot be read; names the file and the line."""

    def __init__(self, source: str, line: int | None, problem: str) -> None:
        self.source, self.line, self.problem = source, line, problem
        where = f"{source}, line {line}" if line else source
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class MasterRow:
    code: str
    market: str
    kind: str
    name: str
    standard_code: str = ""
    name_en: str = ""
    currency: str = "KRW"
    tick_rule: str = Symbol.TickRule.KRX_STOCK
    lot_size: int = 1
    base_price: Decimal | None = None
    is_halted: bool = False


@dataclass
class ParsedFile:
    source: str
    markets: frozenset[str]
    rows: list[MasterRow] = field(default_factory=list)
    skipped: int = 0  # index rows and the like: not instruments


def _offsets(layout: Sequence[tuple[str, int]]) -> tuple[dict[str, slice], int]:
    spans, at = {}, 0
    for name, width in layout:
        spans[name] = slice(at, at + width)
        at += width
    return spans, at


_KOSPI_SPANS, KOSPI_TAIL_BYTES = _offsets(KOSPI_TAIL)
_KOSDAQ_SPANS, KOSDAQ_TAIL_BYTES = _offsets(KOSDAQ_TAIL)
assert (KOSPI_TAIL_BYTES, KOSDAQ_TAIL_BYTES) == (227, 221), "layouts drifted from the headers"


def _lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(data.split(b"\n"), start=1):
        line = line.rstrip(b"\r")
        if line:
            yield number, line


def _digits(value: str, source: str, line: int, what: str) -> int:
    value = value.strip()
    if not value:
        return 0
    if not value.isdigit():
        raise MasterFileError(source, line, f"{what} is not a number: {value!r}")
    return int(value)


def parse_domestic(data: bytes, market: str, source: str = "") -> ParsedFile:
    """Rows of a ``kospi_code.mst`` (market KOSPI) or ``kosdaq_code.mst`` (KOSDAQ)."""
    spans, tail_bytes = (
        (_KOSPI_SPANS, KOSPI_TAIL_BYTES)
        if market == "KOSPI"
        else (_KOSDAQ_SPANS, KOSDAQ_TAIL_BYTES)
    )
    head_bytes = SHORT_CODE_BYTES + STANDARD_CODE_BYTES
    parsed = ParsedFile(source or market, frozenset({market}))
    for number, line in _lines(data):
        shortest = head_bytes + 1 + tail_bytes
        if len(line) < shortest:
            raise MasterFileError(
                parsed.source, number, f"{len(line)} bytes, a record has at least {shortest}"
            )
        name_bytes = line[head_bytes : len(line) - tail_bytes]
        if len(name_bytes) > MAX_NAME_BYTES:
            raise MasterFileError(
                parsed.source, number, f"{len(line)} bytes: longer than any record of this file"
            )
        try:
            head = line[:head_bytes].decode("ascii")
            tail = line[len(line) - tail_bytes :].decode("ascii")
            name = name_bytes.decode("cp949").strip()
        except UnicodeDecodeError as error:
            raise MasterFileError(
                parsed.source, number, f"not cp949 text at byte {error.start}"
            ) from None
        code = head[:SHORT_CODE_BYTES].strip()
        standard = head[SHORT_CODE_BYTES:].strip()
        group = tail[spans["group"]]
        if not _CODE_RE.fullmatch(code):
            raise MasterFileError(parsed.source, number, f"short code {code!r} is not a code")
        if not name:
            raise MasterFileError(parsed.source, number, "the name is empty")
        if not re.fullmatch(r"[A-Z]{2}", group):
            raise MasterFileError(
                parsed.source, number, f"group code {group!r}: the record is cut or shifted"
            )
        base = _digits(tail[spans["base_price"]], parsed.source, number, "the base price")
        lot = _digits(tail[spans["lot"]], parsed.source, number, "the lot size")
        kind = GROUP_KIND.get(group, Symbol.Kind.OTHER)
        parsed.rows.append(
            MasterRow(
                code=code,
                market=market,
                kind=kind,
                name=name,
                standard_code=standard,
                tick_rule=(
                    Symbol.TickRule.KRX_ETP
                    if kind in (Symbol.Kind.ETF, Symbol.Kind.ETN)
                    else Symbol.TickRule.KRX_STOCK
                ),
                lot_size=lot or 1,
                base_price=Decimal(base) if base else None,
                is_halted=tail[spans["halted"]] == "Y",
            )
        )
    return parsed


def parse_us(data: bytes, source: str = "") -> ParsedFile:
    """Rows of a ``nasmst.cod`` / ``nysmst.cod`` / ``amsmst.cod`` (market from its EXCD)."""
    parsed = ParsedFile(source or "US master", frozenset())
    markets: set[str] = set()
    for number, line in _lines(data):
        try:
            text = line.decode("cp949")
        except UnicodeDecodeError as error:
            raise MasterFileError(
                parsed.source, number, f"not cp949 text at byte {error.start}"
            ) from None
        cells = [cell.strip() for cell in text.split("\t")]
        if len(cells) < US_MIN_COLUMNS:
            raise MasterFileError(
                parsed.source, number, f"{len(cells)} columns, a record has {len(US_COLUMNS)}"
            )
        row = dict(zip(US_COLUMNS, cells, strict=False))
        market = US_ORDER_EXCHANGE.get(row["excd"])
        if market is None and number == 1:
            # The official script reads these files with a header row; if one is there,
            # it names columns rather than an exchange. Skip it rather than refuse the file.
            parsed.skipped += 1
            continue
        if market is None:
            raise MasterFileError(
                parsed.source, number, f"exchange {row['excd']!r} is not NAS, NYS or AMS"
            )
        markets.add(market)
        if row["security_type"] not in ("2", "3"):  # indices and warrants are not traded here
            parsed.skipped += 1
            continue
        code = row["symbol"].upper()
        if not _US_CODE_RE.fullmatch(code):
            raise MasterFileError(parsed.source, number, f"symbol {code!r} is not a ticker")
        kind = Symbol.Kind.STOCK
        if row["security_type"] == "3":
            kind = Symbol.Kind.ETN if row.get("etp_kind") == "002" else Symbol.Kind.ETF
        try:
            base = Decimal(row["base_price"]) if row["base_price"] else None
        except InvalidOperation:
            raise MasterFileError(
                parsed.source, number, f"base price {row['base_price']!r} is not a number"
            ) from None
        lot = _digits(row["bid_lot"], parsed.source, number, "the lot size")
        parsed.rows.append(
            MasterRow(
                code=code,
                market=market,
                kind=kind,
                name=row["name"] or row["name_en"],
                name_en=row["name_en"],
                currency=row["currency"] or "USD",
                tick_rule=Symbol.TickRule.US,
                lot_size=lot or 1,
                base_price=base,
            )
        )
    parsed.markets = frozenset(markets)
    return parsed


def parse_master(name: str, data: bytes, label: str = "") -> list[ParsedFile]:
    """Parse one file by its published name; a ``.zip`` is opened and each member read.
    ``label`` names it in errors (an archive's member as ``archive!member``)."""
    base = PurePosixPath(name.split("?", 1)[0]).name.lower()
    label = label or name
    if base.endswith(".zip") or data[:4] == b"PK\x03\x04":
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile:
            raise MasterFileError(label, None, "not a readable zip archive") from None
        parsed = []
        with archive:
            for member in archive.namelist():
                if member.endswith("/"):
                    continue
                if archive.getinfo(member).file_size > MAX_DOWNLOAD_BYTES:
                    raise MasterFileError(f"{label}!{member}", None, "too large for a master file")
                try:
                    content = archive.read(member)
                except (zipfile.BadZipFile, OSError, EOFError):
                    raise MasterFileError(f"{label}!{member}", None, "a damaged archive") from None
                parsed.extend(parse_master(member, content, f"{label}!{member}"))
        if not parsed:
            raise MasterFileError(label, None, "the archive holds no master file")
        return parsed
    if base.startswith("kospi_code"):
        return [parse_domestic(data, Symbol.Market.KOSPI, label)]
    if base.startswith("kosdaq_code"):
        return [parse_domestic(data, Symbol.Market.KOSDAQ, label)]
    if re.fullmatch(r"(nas|nys|ams)mst\.cod", base):
        return [parse_us(data, label)]
    raise MasterFileError(
        label,
        None,
        "unknown master file: expected kospi_code.mst, kosdaq_code.mst, "
        "nasmst.cod, nysmst.cod or amsmst.cod (or their .zip)",
    )


# ------------------------------------------------------------------------------ loading


@dataclass(frozen=True)
class LoadReport:
    created: int
    updated: int
    deactivated: int
    skipped: int
    by_market: dict[str, int]


_UPDATE_FIELDS = (
    "kind", "standard_code", "name", "name_en", "currency", "tick_rule", "lot_size",
    "base_price", "is_halted", "is_active", "search_name", "initials", "search_name_en",
)  # fmt: skip


def load(files: Iterable[ParsedFile], *, deactivate_missing: bool = True) -> LoadReport:
    """Upsert every row in one transaction. With ``deactivate_missing``, symbols of a loaded
    market that the file no longer lists are marked unlisted (never deleted: watchlists and
    orders point at them)."""
    files = list(files)
    rows: dict[tuple[str, str], MasterRow] = {}
    for parsed in files:
        for row in parsed.rows:
            rows[(row.market, row.code)] = row
    markets = frozenset().union(*(parsed.markets for parsed in files)) if files else frozenset()
    objects = []
    for row in rows.values():
        symbol = Symbol(
            code=row.code,
            market=row.market,
            kind=row.kind,
            standard_code=row.standard_code,
            name=row.name[:100],
            name_en=row.name_en[:100],
            currency=row.currency[:3],
            tick_rule=row.tick_rule,
            lot_size=row.lot_size,
            base_price=row.base_price,
            is_halted=row.is_halted,
            is_active=True,
        )
        symbol.search_name, symbol.initials, symbol.search_name_en = search_keys(
            symbol.name, symbol.name_en
        )
        objects.append(symbol)
    by_market: dict[str, int] = {}
    for market, _code in rows:
        by_market[market] = by_market.get(market, 0) + 1
    with transaction.atomic():
        existing = set(Symbol.objects.filter(market__in=markets).values_list("market", "code"))
        Symbol.objects.bulk_create(
            objects,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["market", "code"],
            update_fields=list(_UPDATE_FIELDS),
        )
        deactivated = 0
        if deactivate_missing:
            for market in markets:
                listed = [code for m, code in rows if m == market]
                deactivated += (
                    Symbol.objects.filter(market=market, is_active=True)
                    .exclude(code__in=listed)
                    .update(is_active=False)
                )
    created = sum(1 for key in rows if key not in existing)
    return LoadReport(
        created=created,
        updated=len(rows) - created,
        deactivated=deactivated,
        skipped=sum(parsed.skipped for parsed in files),
        by_market=by_market,
    )


def bundled_files() -> list[ParsedFile]:
    parsed = []
    for name in BUNDLED_FILES:
        parsed.extend(parse_master(name, (BUNDLED_DIR / name).read_bytes()))
    return parsed


def load_bundled() -> LoadReport:
    """The small shipped fixture (every symbol the simulator lists, and more), for demo and
    tests. It never unlists anything: a database with a full load keeps all of it."""
    return load(bundled_files(), deactivate_missing=False)


def ensure_symbols() -> LoadReport | None:
    """Load the fixture when the master is empty (demo start)."""
    if Symbol.objects.exists():
        return None
    return load_bundled()


# ------------------------------------------------------------------------------- search

_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3
_SYLLABLES_PER_INITIAL = 21 * 28
# Compatibility jamo for the 19 initial consonants, in Unicode syllable order.
INITIAL_CONSONANTS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_INITIAL_INDEX = {jamo: i for i, jamo in enumerate(INITIAL_CONSONANTS)}
_SPACES = re.compile(r"\s+")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")  # PostgreSQL refuses NUL in any text


def initial_of(char: str) -> str:
    """The initial consonant of a Hangul syllable; any other character as it is."""
    point = ord(char)
    if _HANGUL_FIRST <= point <= _HANGUL_LAST:
        return INITIAL_CONSONANTS[(point - _HANGUL_FIRST) // _SYLLABLES_PER_INITIAL]
    return char


def normalize(text: str) -> str:
    """What search compares: no spaces or control characters, lower case."""
    return _CONTROLS.sub("", _SPACES.sub("", text)).lower()


def search_keys(name: str, name_en: str) -> tuple[str, str, str]:
    key = normalize(name)[:100]
    return key, "".join(initial_of(char) for char in key), normalize(name_en)[:100]


def _has_initials(query: str) -> bool:
    return any(char in _INITIAL_INDEX for char in query)


def _pattern(query: str) -> re.Pattern[str]:
    """Each bare consonant stands for itself or any syllable it begins ("ㅅ성" → 삼성...)."""
    parts = []
    for char in query:
        index = _INITIAL_INDEX.get(char)
        if index is None:
            parts.append(re.escape(char))
        else:
            first = _HANGUL_FIRST + index * _SYLLABLES_PER_INITIAL
            last = first + _SYLLABLES_PER_INITIAL - 1
            parts.append(f"[{char}{chr(first)}-{chr(last)}]")
    return re.compile("".join(parts))


# Ranks, best first.
EXACT_CODE, CODE_PREFIX, EXACT_NAME, NAME_PREFIX, NAME_PARTIAL = range(5)


def _rank(
    code: str, names: tuple[str, str], code_query: str, key: str, pattern: re.Pattern[str]
) -> int | None:
    if code == code_query:
        return EXACT_CODE
    if code.startswith(code_query):
        return CODE_PREFIX
    best = None
    for name in names:
        if not name:
            continue
        if name == key:
            return EXACT_NAME
        found = pattern.search(name)
        if found is None:
            continue
        rank = NAME_PREFIX if found.start() == 0 else NAME_PARTIAL
        best = rank if best is None else min(best, rank)
    return best


def search(query: str, limit: int = SEARCH_LIMIT) -> list[Symbol]:
    """Listed symbols matching ``query`` by code or name, best first: exact code, code
    prefix, exact name, name prefix, then anywhere in the name; KRX before US, then shorter
    names, within a rank. One character matches only at the start (a name or a code), so
    the first keystroke stays cheap."""
    from django.db.models import Q

    key = normalize(query)[:MAX_QUERY_CHARS]
    if not key:
        return []
    code_query = key.upper()
    pattern = _pattern(key)
    lookup = "startswith" if len(key) == 1 else "contains"
    match = Q(code__startswith=code_query)
    if _has_initials(key):
        initials = "".join(initial_of(char) for char in key)
        match |= Q(**{f"initials__{lookup}": initials})
    else:
        match |= Q(**{f"search_name__{lookup}": key}) | Q(**{f"search_name_en__{lookup}": key})
    # Rank on a few columns, then build model objects for the few that are shown.
    candidates = Symbol.objects.filter(match, is_active=True).values_list(
        "pk", "code", "market", "search_name", "search_name_en"
    )
    ranked = []
    for pk, code, market, name, name_en in candidates:
        rank = _rank(code, (name, name_en), code_query, key, pattern)
        if rank is not None:
            ranked.append((rank, market not in Symbol.DOMESTIC, len(name), code, pk))
    ranked.sort()
    chosen = [entry[-1] for entry in ranked[:limit]]
    by_pk = Symbol.objects.in_bulk(chosen)
    return [by_pk[pk] for pk in chosen]
