"""The symbol master: KIS's master-file layouts, the bundled fixture, `loadsymbols`."""

from __future__ import annotations

import http.server
import io
import threading
import zipfile
from decimal import Decimal
from typing import ClassVar

import pytest
from django.core.management import CommandError, call_command

from kisweb.kissim.symbols import EXCD_TO_ORDER_EXCHANGE, KRX_LISTINGS, US_LISTINGS
from market.models import Symbol
from market.symbols import (
    BUNDLED_DIR,
    KOSDAQ_TAIL_BYTES,
    KOSPI_TAIL_BYTES,
    MasterFileError,
    bundled_files,
    load_bundled,
    parse_domestic,
    parse_master,
    parse_us,
)

from .symbol_data import domestic_record, master, us_record


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("loadsymbols", *args, stdout=out)
    return out.getvalue()


# ----------------------------------------------------------------- the bundled fixture


def test_bundled_fixture_is_in_the_published_layout():
    for name, tail in (
        ("kospi_code.mst", KOSPI_TAIL_BYTES),
        ("kosdaq_code.mst", KOSDAQ_TAIL_BYTES),
    ):
        data = (BUNDLED_DIR / name).read_bytes()
        lines = data.split(b"\r\n")
        assert lines[-1] == b""  # CRLF after every record, as KIS writes them
        for line in lines[:-1]:
            assert len(line) == 9 + 12 + 40 + tail
            line[21:61].decode("cp949")  # the name is cp949, not UTF-8
    samsung = (BUNDLED_DIR / "kospi_code.mst").read_bytes().split(b"\r\n")[0]
    assert samsung.startswith(b"005930   KR7005930003")
    assert samsung[21:61].decode("cp949").strip() == "삼성전자"
    with pytest.raises(UnicodeDecodeError):
        samsung[21:61].decode("utf-8")
    for name in ("nasmst.cod", "nysmst.cod", "amsmst.cod"):
        for line in (BUNDLED_DIR / name).read_bytes().split(b"\r\n")[:-1]:
            assert line.count(b"\t") == 23


def test_bundled_fixture_holds_every_symbol_the_simulator_lists():
    rows = {(row.market, row.code): row for f in bundled_files() for row in f.rows}
    for code, name, base, label in KRX_LISTINGS:
        market = "KOSDAQ" if label.startswith("KOSDAQ") else "KOSPI"
        assert rows[(market, code)].name == name
        assert rows[(market, code)].base_price == Decimal(base)
    for ticker, name, _base, excd in US_LISTINGS:
        row = rows[(EXCD_TO_ORDER_EXCHANGE[excd], ticker)]
        assert (row.name, row.currency, row.tick_rule) == (name, "USD", "us")
        assert row.name_en
    assert len(rows) >= len(KRX_LISTINGS) + len(US_LISTINGS) + 30
    assert rows[("KOSPI", "069500")].kind == Symbol.Kind.ETF  # group code EF
    assert rows[("KOSPI", "069500")].tick_rule == Symbol.TickRule.KRX_ETP
    assert rows[("AMEX", "SPY")].kind == Symbol.Kind.ETF  # security type 3, ETP kind 001
    assert ("NASD", "COMP") not in rows  # the index row (type 1) is not an instrument


@pytest.mark.django_db
def test_load_bundled_writes_search_keys_and_is_idempotent():
    first = load_bundled()
    assert first.created == Symbol.objects.count() and first.updated == 0
    samsung = Symbol.objects.get(market="KOSPI", code="005930")
    assert (samsung.search_name, samsung.initials) == ("삼성전자", "ㅅㅅㅈㅈ")
    assert samsung.standard_code == "KR7005930003"
    assert samsung.currency == "KRW" and samsung.lot_size == 1
    again = load_bundled()
    assert (again.created, again.updated) == (0, first.created)
    assert Symbol.objects.count() == first.created


# ----------------------------------------------------------------------- the layouts


def test_domestic_record_fields_are_read_from_the_tail():
    data = master(
        domestic_record("005930", "삼성전자", base=71000),
        domestic_record("Q500001", "신한 인버스 WTI원유 선물 ETN", group="EN", base=5000),
        domestic_record("123456", "어떤회사", group="EW"),
    )
    parsed = parse_domestic(data, "KOSPI", "kospi_code.mst")
    stock, etn, other = parsed.rows
    assert (stock.code, stock.name, stock.kind, stock.base_price) == (
        "005930",
        "삼성전자",
        "stock",
        Decimal(71000),
    )
    assert (etn.code, etn.kind, etn.tick_rule) == ("Q500001", "etn", "krx_etp")
    assert other.kind == "other"


def test_kosdaq_tail_is_six_bytes_shorter():
    data = master(domestic_record("247540", "에코프로비엠", base=172300, kosdaq=True))
    (row,) = parse_domestic(data, "KOSDAQ").rows
    assert (row.name, row.base_price, row.market) == ("에코프로비엠", Decimal(172300), "KOSDAQ")
    # a KOSDAQ record read with the KOSPI layout is shifted: refused, not misread
    with pytest.raises(MasterFileError):
        parse_domestic(data, "KOSPI")


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (master(domestic_record("005930", "삼성전자"))[:150], "bytes, a record has at least"),
        (domestic_record("005930", "삼성전자")[:-1] + b"\r\n", "group code"),
        (
            domestic_record("005930", "삼성전자").replace("삼성".encode("cp949"), b"\xff\xfe"),
            "cp949",
        ),
        (domestic_record("00-930", "삼성전자"), "short code"),
        (domestic_record("005930", "삼성전자").replace(b"000010000", b"0000X0000"), "base price"),
    ],
)
def test_bad_domestic_line_names_the_line(data, problem):
    good = domestic_record("000660", "SK하이닉스")
    with pytest.raises(MasterFileError) as caught:
        parse_domestic(master(good, good) + data, "KOSPI", "kospi_code.mst")
    assert caught.value.line == 3
    assert problem in str(caught.value)
    assert str(caught.value).startswith("kospi_code.mst, line 3:")


def test_us_master_rows():
    data = master(
        us_record("COMP", "나스닥 종합", "NASDAQ COMPOSITE", kind="1"),
        us_record("AAPL", "애플", "APPLE INC"),
        us_record("QQQ", "", "INVESCO QQQ TRUST", kind="3", etp="001"),
        us_record("XYZN", "엑스와이 ETN", "XY ETN", kind="3", etp="002"),
    )
    parsed = parse_us(data, "nasmst.cod")
    assert parsed.skipped == 1 and parsed.markets == {"NASD"}
    apple, qqq, etn = parsed.rows
    assert (apple.code, apple.market, apple.name, apple.name_en) == (
        "AAPL",
        "NASD",
        "애플",
        "APPLE INC",
    )
    assert (qqq.kind, qqq.name) == ("etf", "INVESCO QQQ TRUST")  # no Korean name: English
    assert etn.kind == "etn"


def test_a_header_row_on_the_first_line_is_skipped():
    header = "\t".join(f"column {n}" for n in range(24)).encode()
    parsed = parse_us(master(header, us_record("AAPL", "애플", "APPLE INC")))
    assert [row.code for row in parsed.rows] == ["AAPL"] and parsed.skipped == 1
    with pytest.raises(MasterFileError) as caught:  # anywhere else it is a bad line
        parse_us(master(us_record("AAPL", "애플", "APPLE INC"), header))
    assert caught.value.line == 2


def test_us_files_from_before_the_etp_columns_are_read():
    record = us_record("KO", "코카콜라", "COCA-COLA CO", excd="NYS").split(b"\t")[:22]
    (row,) = parse_us(master(b"\t".join(record))).rows
    assert (row.code, row.market) == ("KO", "NYSE")


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        (b"US\tNAS\tAAPL", "3 columns"),
        (us_record("AAPL", "애플", "APPLE INC", excd="HKS"), "is not NAS, NYS or AMS"),
        (us_record("AA PL", "애플", "APPLE INC"), "is not a ticker"),
    ],
)
def test_bad_us_line_names_the_line(record, problem):
    with pytest.raises(MasterFileError) as caught:
        parse_us(master(us_record("MSFT", "마이크로소프트", "MICROSOFT"), record), "nysmst.cod")
    assert caught.value.line == 2 and problem in str(caught.value)


def test_file_kind_is_taken_from_the_published_name():
    with pytest.raises(MasterFileError, match="unknown master file"):
        parse_master("symbols.csv", b"x")
    with pytest.raises(MasterFileError, match="not a readable zip"):
        parse_master("kospi_code.mst.zip", b"PK\x03\x04broken")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("kospi_code.mst", master(domestic_record("005930", "삼성전자")))
    (parsed,) = parse_master("https://example.invalid/kospi_code.mst.zip?x=1", archive.getvalue())
    assert parsed.rows[0].name == "삼성전자"


# ---------------------------------------------------------------------- the command


@pytest.fixture
def files(tmp_path):
    def write(name: str, data: bytes):
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)

    return write


@pytest.mark.django_db
def test_loadsymbols_from_files_reports_counts_and_unlists_what_left(files):
    kospi = files(
        "kospi_code.mst",
        master(domestic_record("005930", "삼성전자"), domestic_record("000660", "SK하이닉스")),
    )
    nas = files("nasmst.cod", master(us_record("AAPL", "애플", "APPLE INC")))
    out = run(kospi, nas)
    assert "KOSPI: 2" in out and "NASD: 1" in out
    assert "3 symbols: 3 new, 0 updated, 0 unlisted" in out
    kospi = files("kospi_code.mst", master(domestic_record("005930", "삼성전자 (new)")))
    out = run(kospi)
    assert "1 symbols: 0 new, 1 updated, 1 unlisted" in out
    assert Symbol.objects.get(code="005930").name == "삼성전자 (new)"
    hynix = Symbol.objects.get(code="000660")
    assert not hynix.is_active  # kept for watchlists, no longer listed
    assert Symbol.objects.get(code="AAPL").is_active  # another market: untouched


@pytest.mark.django_db
def test_loadsymbols_keep_missing(files):
    run(
        files(
            "kospi_code.mst",
            master(domestic_record("005930", "삼성전자"), domestic_record("000660", "SK하이닉스")),
        )
    )
    run("--keep-missing", files("kospi_code.mst", master(domestic_record("005930", "삼성전자"))))
    assert Symbol.objects.filter(is_active=True).count() == 2


@pytest.mark.django_db
def test_a_bad_line_anywhere_changes_nothing(files):
    run("--bundled")
    before = list(Symbol.objects.order_by("pk").values_list("code", "name", "is_active"))
    good = files("kospi_code.mst", master(domestic_record("005930", "바뀐 이름")))
    bad = files(
        "kosdaq_code.mst", master(domestic_record("247540", "에코프로비엠", kosdaq=True)[:-40])
    )
    with pytest.raises(CommandError) as caught:
        run(good, bad)
    assert "kosdaq_code.mst, line 1:" in str(caught.value)
    assert "nothing was loaded" in str(caught.value)
    assert list(Symbol.objects.order_by("pk").values_list("code", "name", "is_active")) == before


@pytest.mark.django_db
def test_loadsymbols_needs_a_source_and_a_real_file(tmp_path):
    with pytest.raises(CommandError, match="at least one"):
        run()
    with pytest.raises(CommandError, match="no such file"):
        run(str(tmp_path / "kospi_code.mst"))


class _Files(http.server.BaseHTTPRequestHandler):
    bodies: ClassVar[dict[str, bytes]] = {}

    def do_GET(self):
        body = self.bodies.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args):
        pass


@pytest.fixture
def file_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Files.bodies
    server.shutdown()
    _Files.bodies.clear()


@pytest.mark.django_db
def test_loadsymbols_from_a_published_zip_url(file_server):
    base, bodies = file_server
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr(
            "nysmst.cod", master(us_record("KO", "코카콜라", "COCA-COLA CO", excd="NYS"))
        )
    bodies["/common/master/nysmst.cod.zip"] = archive.getvalue()
    out = run(f"{base}/common/master/nysmst.cod.zip")
    assert "NYSE: 1" in out
    ko = Symbol.objects.get(code="KO")
    assert (ko.market, ko.quote_exchange, ko.order_exchange) == ("NYSE", "NYS", "NYSE")
    with pytest.raises(CommandError, match="HTTP 404"):
        run(f"{base}/missing.mst.zip")


# -------------------------------------------------------------------- the model's rules


@pytest.mark.parametrize(
    ("rule", "price", "tick"),
    [
        ("krx", "1999", "1"),
        ("krx", "2000", "5"),
        ("krx", "71000", "100"),
        ("krx", "199900", "100"),
        ("krx", "200000", "500"),
        ("krx", "980000", "1000"),
        ("krx_etp", "1999", "1"),
        ("krx_etp", "35000", "5"),
        ("krx_etp", "600000", "5"),
        ("us", "189.84", "0.01"),
        ("us", "0.5", "0.0001"),
    ],
)
def test_tick_size_by_rule(rule, price, tick):
    assert Symbol(tick_rule=rule).tick_size(Decimal(price)) == Decimal(tick)


def test_exchange_codes():
    samsung = Symbol(code="005930", market="KOSPI")
    assert (samsung.is_domestic, samsung.order_exchange, samsung.quote_exchange) == (True, "", "")
    for market, excd in (("NASD", "NAS"), ("NYSE", "NYS"), ("AMEX", "AMS")):
        symbol = Symbol(code="X", market=market)
        assert (symbol.is_us, symbol.order_exchange, symbol.quote_exchange) == (True, market, excd)
