"""Helpers for the market tests: master-file records in KIS's layouts, built in memory."""

from __future__ import annotations

from market.symbols import KOSDAQ_TAIL, KOSPI_TAIL, NAME_BYTES, US_COLUMNS


def domestic_record(
    code: str, name: str, *, group: str = "ST", base: int = 10000, kosdaq: bool = False
) -> bytes:
    """One kospi_code.mst (or kosdaq_code.mst) record, without its line end."""
    layout = KOSDAQ_TAIL if kosdaq else KOSPI_TAIL
    cells = []
    for field, width in layout:
        if field == "group":
            cells.append(group)
        elif field == "base_price":
            cells.append(f"{base:0{width}d}")
        elif field == "lot":
            cells.append("00001")
        else:
            cells.append("N" if width == 1 else "0" * width)
    name_bytes = name.encode("cp949")
    head = code.encode().ljust(9) + f"KR7{code}000"[:12].encode()
    return head + name_bytes.ljust(NAME_BYTES) + "".join(cells).encode()


def us_record(symbol: str, name: str, name_en: str, *, excd: str = "NAS", kind: str = "2",
              etp: str = "") -> bytes:  # fmt: skip
    values = {
        "national": "US", "excd": excd, "symbol": symbol, "realtime_symbol": f"D{excd}{symbol}",
        "name": name, "name_en": name_en, "security_type": kind, "currency": "USD",
        "decimals": "4", "base_price": "10.00", "bid_lot": "1", "ask_lot": "1",
        "opens": "0930", "closes": "1600", "is_dr": "N", "index_flag": "0", "tick_type": "1",
        "etp_kind": etp,
    }  # fmt: skip
    return "\t".join(values.get(column, "") for column in US_COLUMNS).encode("cp949")


def master(*records: bytes) -> bytes:
    return b"".join(record + b"\r\n" for record in records)
