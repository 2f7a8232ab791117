"""The realtime frame parser (docs/kis-protocol.md §7.3–§7.8): layouts, multi-record frames,
notice decryption, schema drift and malformed frames; property tests with hypothesis."""

from __future__ import annotations

import contextlib
import logging
from datetime import time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kisweb.kis import Side
from kisweb.kis.realtime import (
    BookTexts,
    ExecutionNotice,
    FrameParser,
    MalformedFrame,
    NoticeAction,
    OrderBook,
    Trade,
    decrypt_payload,
)
from tests.kis.frame_builders import (
    NOTICE_IV,
    NOTICE_KEY,
    book_record,
    encrypt,
    frame,
    notice_record,
    trade_record,
)
from tests.kissim import frame_captures as captures
from tests.kissim.frame_captures import Capture


def test_a_trade_frame_becomes_a_typed_trade():
    [trade] = FrameParser().parse(frame("H0STCNT0", [trade_record()]))
    assert trade == Trade(
        tr_id="H0STCNT0",
        key="005930",
        symbol="005930",
        time=time(9, 30, 15),
        price=Decimal("71500"),
        change=Decimal("-500"),
        change_rate=Decimal("-0.69"),
        quantity=10,
        volume=1234567,
        open=Decimal("71000"),
        high=Decimal("72000"),
        low=Decimal("70900"),
        best_ask=Decimal("71600"),
        best_bid=Decimal("71500"),
    )


def test_a_multi_record_frame_is_split_by_the_field_count():
    records = [trade_record(price=71500 + 100 * i, qty=i + 1) for i in range(4)]
    trades = FrameParser().parse(frame("H0STCNT0", records))
    assert [(t.price, t.quantity) for t in trades] == [
        (Decimal(71500 + 100 * i), i + 1) for i in range(4)
    ]


@pytest.mark.parametrize("length", [59, 62])
def test_order_books_of_59_and_62_fields_parse_alike(length):
    [book] = FrameParser().parse(frame("H0STASP0", [book_record(length=length)]))
    assert isinstance(book, OrderBook)
    assert book.ask_prices[0] == Decimal("71600") and book.bid_prices[0] == Decimal("71500")
    assert book.ask_quantities == tuple(range(100, 110))
    assert book.bid_quantities == tuple(range(200, 210))
    assert (book.total_ask_quantity, book.total_bid_quantity) == (1045, 2045)
    assert book.asks[9].price == Decimal("72500")


def test_a_two_record_book_frame_of_124_fields_is_read_as_two_62s():
    """§7.8: prefer 62 over 59 when the total divides by 62."""
    books = FrameParser().parse(frame("H0STASP0", [book_record("005930"), book_record("000660")]))
    assert [b.symbol for b in books] == ["005930", "000660"]


@pytest.mark.parametrize("length", [26, 23])
def test_an_encrypted_notice_is_decrypted_with_the_ack_key(length):
    parser = FrameParser()
    parser.set_notice_key("H0STCNI9", NOTICE_KEY, NOTICE_IV)
    payload = encrypt("^".join(notice_record(length)))
    [notice] = parser.parse(f"1|H0STCNI9|001|{payload}")
    assert notice == ExecutionNotice(
        tr_id="H0STCNI9",
        hts_id="demo",
        account_no="50000001",
        order_no="0000012345",
        original_order_no="",
        branch_no="00950",
        side=Side.BUY,
        action=NoticeAction.ORDER,
        symbol="005930",
        symbol_name="삼성전자",
        is_fill=True,
        rejected=False,
        quantity=10,
        price=Decimal("71500"),
        order_quantity=10,
        order_price=Decimal("71500"),
        time=time(9, 30, 17),
    )


def test_an_encrypted_frame_before_its_key_is_malformed():
    payload = encrypt("^".join(notice_record()))
    with pytest.raises(MalformedFrame):
        FrameParser().parse(f"1|H0STCNI9|001|{payload}")


def test_decryption_uses_the_key_as_ascii_not_hex():
    assert decrypt_payload(encrypt("가^나"), NOTICE_KEY, NOTICE_IV) == "가^나"
    with pytest.raises(MalformedFrame):
        decrypt_payload(encrypt("가^나"), "b" * 32, NOTICE_IV)


def test_extra_trailing_fields_parse_and_the_drift_is_logged_once(caplog):
    parser = FrameParser()
    drifted = [[*trade_record(), "X", "Y"], [*trade_record(price=71600), "X", "Y"]]
    with caplog.at_level(logging.WARNING, logger="kisweb.kis.realtime.frames"):
        first = parser.parse(frame("H0STCNT0", drifted))
        second = parser.parse(frame("H0STCNT0", drifted))
    assert [t.price for t in first + second] == [Decimal(71500), Decimal(71600)] * 2
    drift_lines = [r for r in caplog.records if "H0STCNT0 records carry 48 fields" in r.message]
    assert len(drift_lines) == 1


def test_a_us_trade_and_a_us_book_parse():
    trade_fields = ["DNASAAPL", "AAPL", "4", "20260709", "20260709", "101500", "20260709",
                    "231500", "190.0000", "192.0000", "189.5000", "191.2500", "2", "1.2500",
                    "+0.66", "191.2400", "191.2600", "300", "200", "5", "123456", "23600000.00",
                    "600", "700", "116.67", "1"]  # fmt: skip
    [trade] = FrameParser().parse(frame("HDFSCNT0", [trade_fields]))
    assert (trade.key, trade.symbol, trade.price, trade.change_rate) == (
        "DNASAAPL", "AAPL", Decimal("191.2500"), Decimal("0.66"),
    )  # fmt: skip
    assert (trade.best_bid, trade.best_ask, trade.quantity) == (
        Decimal("191.2400"), Decimal("191.2600"), 5,
    )  # fmt: skip
    book_fields = ["DNASAAPL", "AAPL", "4", "20260709", "101500", "20260709", "231500", "900",
                   "800", "0", "0", "191.2400", "191.2600", "300", "200", "0", "0"]  # fmt: skip
    [book] = FrameParser().parse(frame("HDFSASP0", [book_fields]))
    assert book.bid_prices == (Decimal("191.2400"),) and book.ask_quantities == (200,)
    assert (book.total_bid_quantity, book.total_ask_quantity) == (900, 800)


def test_a_book_keeps_its_levels_as_the_texts_kis_sent():
    us_fields = ["DNASAAPL", "AAPL", "4", "20260709", "101500", "20260709", "231500", "900",
                 "800", "0", "0", "191.2400", "191.2600", "300", "200", "0", "0"]  # fmt: skip
    [us_book] = FrameParser().parse(frame("HDFSASP0", [us_fields]))
    assert us_book.level_texts() == BookTexts(
        ask_prices=("191.2600",),
        ask_quantities=("200",),
        bid_prices=("191.2400",),
        bid_quantities=("300",),
        total_ask_quantity="800",
        total_bid_quantity="900",
    )
    [book] = FrameParser().parse(frame("H0STASP0", [book_record()]))
    texts = book.level_texts()
    assert texts.ask_prices == tuple(str(71600 + 100 * i) for i in range(10))
    assert texts.bid_quantities == tuple(str(200 + i) for i in range(10))
    assert (texts.total_ask_quantity, texts.total_bid_quantity) == ("1045", "2045")


def test_a_book_reads_as_decimal_prices_and_int_quantities():
    [book] = FrameParser().parse(frame("H0STASP0", [book_record()]))
    assert book.total_bid_quantity == 2045 and type(book.total_bid_quantity) is int
    assert all(type(price) is Decimal for price in book.ask_prices + book.bid_prices)
    assert book.depth == 10


def test_book_equality_and_repr_are_by_the_typed_values():
    [book] = FrameParser().parse(frame("H0STASP0", [book_record()]))
    eager = OrderBook.from_levels(
        "H0STASP0", "005930", "005930", time(9, 30, 16),
        tuple(Decimal(71600 + 100 * i) for i in range(10)), tuple(range(100, 110)),
        tuple(Decimal(71500 - 100 * i) for i in range(10)), tuple(range(200, 210)),
        1045, 2045,
    )  # fmt: skip
    assert book == eager and eager == book
    assert repr(book) == repr(eager)
    assert "ask_prices=(Decimal('71600')," in repr(book)
    assert book != OrderBook.from_levels("H0STASP0", "005930", "005930", time(9, 30, 16),
                                         (), (), (), (), 1045, 2045)  # fmt: skip


@pytest.mark.parametrize(
    ("index", "text"),
    [
        (3, "716OO"),  # letters O in an ask price
        (20, "1.2.3"),  # two points in a bid price
        (25, "1O"),  # a letter O in an ask quantity
        (40, ""),  # an empty bid quantity
        (42, "3.5"),  # a fraction of a share
        (44, "²"),  # a superscript two: isdigit() is true, int() refuses it
    ],
)
def test_a_book_with_a_malformed_number_is_a_malformed_frame(index, text):
    fields = book_record()
    fields[index] = text
    with pytest.raises(MalformedFrame, match="H0STASP0 record unreadable"):
        FrameParser().parse(frame("H0STASP0", [fields]))


@pytest.mark.parametrize(("index", "text"), [(11, "191.24.00"), (13, "3O0"), (8, "8.5")])
def test_a_us_book_with_a_malformed_number_is_a_malformed_frame(index, text):
    fields = ["DNASAAPL", "AAPL", "4", "20260709", "101500", "20260709", "231500", "900",
              "800", "0", "0", "191.2400", "191.2600", "300", "200", "0", "0"]  # fmt: skip
    fields[index] = text
    with pytest.raises(MalformedFrame, match="HDFSASP0 record unreadable"):
        FrameParser().parse(frame("HDFSASP0", [fields]))


@pytest.mark.parametrize(
    "bad",
    [
        "0|H0STCNT0|001",  # no payload (the simulator's malformed frame)
        "0|H0STCNT0|001|005930^093015",  # too few fields
        "0|H0STCNT0|002|" + "^".join(trade_record()),  # count does not divide
        "0|H0STCNT0|abc|" + "^".join(trade_record()),
        "0|H0XXXXX0|001|1^2^3",  # unknown TR
        "2|H0STCNT0|001|" + "^".join(trade_record()),  # bad encryption flag
        "0|H0STCNT0|001|" + "^".join(trade_record(qty="1O")),  # a letter O in a quantity
    ],
)
def test_malformed_frames_raise_malformed_frame(bad):
    with pytest.raises(MalformedFrame):
        FrameParser().parse(bad)


# -- properties -----------------------------------------------------------------------------

prices = st.integers(min_value=1, max_value=5_000_000)
quantities = st.integers(min_value=0, max_value=10**12)


@given(st.lists(st.tuples(prices, quantities, quantities), min_size=1, max_size=30))
def test_any_trade_frame_round_trips(rows):
    records = [trade_record(price=p, qty=q, volume=v) for p, q, v in rows]
    trades = FrameParser().parse(frame("H0STCNT0", records))
    assert [(t.price, t.quantity, t.volume) for t in trades] == [
        (Decimal(p), q, v) for p, q, v in rows
    ]


@given(st.integers(min_value=1, max_value=8), st.integers(min_value=0, max_value=20))
def test_any_count_of_drifted_book_records_round_trips(count, extra):
    records = [book_record(f"{i:06d}", length=62) + ["9"] * extra for i in range(count)]
    books = FrameParser().parse(frame("H0STASP0", records))
    assert [b.symbol for b in books] == [f"{i:06d}" for i in range(count)]


def eager_book(tr_id, key, symbol, hhmmss, asks, bids, totals):
    """The book as the parser built it before books kept their texts: every number
    converted up front. ``asks``/``bids`` are (price text, quantity text) pairs."""

    def price(text):
        return Decimal(text) if text else Decimal(0)

    return OrderBook.from_levels(
        tr_id, key, symbol, time(int(hhmmss[:2]), int(hhmmss[2:4]), int(hhmmss[4:])),
        tuple(price(p) for p, _ in asks), tuple(int(q) for _, q in asks),
        tuple(price(p) for p, _ in bids), tuple(int(q) for _, q in bids),
        int(totals[0]), int(totals[1]),
    )  # fmt: skip


def read_every_number(event):
    if isinstance(event, OrderBook):
        return (event.asks, event.bids, event.total_ask_quantity, event.total_bid_quantity)
    return None


price_texts = st.one_of(
    st.integers(min_value=0, max_value=5_000_000).map(str),
    st.decimals(min_value=0, max_value=99_999, places=4).map(str),
    st.just(""),  # an empty price is 0, as before
)
quantity_texts = st.one_of(
    st.integers(min_value=0, max_value=10**12).map(str),
    st.sampled_from(["007", "+5", " 12", "1_000"]),  # int() takes these, so did the parser
)
level_lists = st.lists(st.tuples(price_texts, quantity_texts), min_size=10, max_size=10)


@given(
    level_lists, level_lists, st.tuples(quantity_texts, quantity_texts), st.sampled_from([59, 62])
)
def test_a_lazy_domestic_book_equals_the_eagerly_converted_one(asks, bids, totals, length):
    fields = book_record(length=length)
    fields[3:13], fields[23:33] = [p for p, _ in asks], [q for _, q in asks]
    fields[13:23], fields[33:43] = [p for p, _ in bids], [q for _, q in bids]
    fields[43:45] = totals
    [book] = FrameParser().parse(frame("H0STASP0", [fields]))
    assert book == eager_book("H0STASP0", "005930", "005930", "093016", asks, bids, totals)
    assert book.level_texts() == BookTexts(
        tuple(p for p, _ in asks), tuple(q for _, q in asks),
        tuple(p for p, _ in bids), tuple(q for _, q in bids), *totals,
    )  # fmt: skip


@given(st.sampled_from([1, 10]), st.data())
def test_a_lazy_us_book_equals_the_eagerly_converted_one(levels, data):
    asks = data.draw(
        st.lists(st.tuples(price_texts, quantity_texts), min_size=levels, max_size=levels)
    )
    bids = data.draw(
        st.lists(st.tuples(price_texts, quantity_texts), min_size=levels, max_size=levels)
    )
    totals = data.draw(st.tuples(quantity_texts, quantity_texts))
    fields = ["DNASAAPL", "AAPL", "4", "20260709", "101500", "20260709", "231500",
              totals[1], totals[0], "0", "0"]  # fmt: skip
    for (ask, ask_qty), (bid, bid_qty) in zip(asks, bids, strict=True):
        fields += [bid, ask, bid_qty, ask_qty, "0", "0"]
    [book] = FrameParser().parse(frame("HDFSASP0", [fields]))
    assert book == eager_book("HDFSASP0", "DNASAAPL", "AAPL", "101500", asks, bids, totals)


# A field can hold any text but the frame's own separators, which would make it two fields.
field_texts = st.text(alphabet=st.characters(blacklist_characters="^|"), max_size=6)


@given(st.integers(min_value=3, max_value=44), field_texts)
def test_a_book_with_any_text_in_a_number_parses_to_the_eager_result_or_is_malformed(index, text):
    """Never a book that parses and then raises on a consumer's first read."""
    fields = book_record()
    fields[index] = text
    try:
        [book] = FrameParser().parse(frame("H0STASP0", [fields]))
    except MalformedFrame:
        return
    asks = list(zip(fields[3:13], fields[23:33], strict=True))
    bids = list(zip(fields[13:23], fields[33:43], strict=True))
    expected = eager_book("H0STASP0", "005930", "005930", "093016", asks, bids, fields[43:45])
    assert repr(book) == repr(expected)  # by repr: Decimal("NaN") parses, as it always has


@given(st.text(max_size=400))
def test_arbitrary_text_never_raises_anything_but_malformed_frame(text):
    with contextlib.suppress(MalformedFrame):
        FrameParser().parse(text)


@given(st.sampled_from(["H0STCNT0", "H0STASP0", "HDFSCNT0", "HDFSASP0"]), st.data())
def test_arbitrary_payloads_for_known_trs_raise_only_malformed_frame(tr_id, data):
    fields = data.draw(st.lists(st.text(alphabet="0123456789.-+ab", max_size=6), max_size=130))
    count = data.draw(st.integers(min_value=1, max_value=3))
    with contextlib.suppress(MalformedFrame):
        for event in FrameParser().parse(f"0|{tr_id}|{count:03d}|{'^'.join(fields)}"):
            read_every_number(event)  # a book that parsed converts without raising


# -- real captures (tests/kissim/frame_captures.py; issue #9) ------------------------------


def capture_parser(capture: Capture) -> FrameParser:
    parser = FrameParser()
    if capture.key:
        parser.set_notice_key(capture.tr_id, capture.key, capture.iv)
    return parser


def expected_trade(tr_id: str, r: list[str]) -> tuple:
    """(symbol, time, price, change, rate, qty, volume, open, high, low, ask, bid) by the
    §7.8 positions; a US DIFF is unsigned and takes its minus from SIGN."""
    d = Decimal
    if tr_id == "H0STCNT0":
        return (r[0], r[1], d(r[2]), d(r[4]), d(r[5]), int(r[12]), int(r[13]),
                d(r[7]), d(r[8]), d(r[9]), d(r[10]), d(r[11]))  # fmt: skip
    change = -d(r[13]) if r[12] in "45" else d(r[13])
    return (r[1], r[5], d(r[11]), change, d(r[14]), int(r[19]), int(r[20]),
            d(r[8]), d(r[9]), d(r[10]), d(r[16]), d(r[15]))  # fmt: skip


def hhmmss(moment: time | None) -> str:
    assert moment is not None
    return moment.strftime("%H%M%S")


@pytest.mark.parametrize(
    "capture", captures.DOMESTIC_TRADES + captures.US_TRADES, ids=lambda c: c.source[:40]
)
def test_every_captured_trade_reads_as_typed_values(capture):
    records = capture.records(46 if capture.tr_id == "H0STCNT0" else 26)
    trades = capture_parser(capture).parse(capture.frame)
    assert len(trades) == len(records)
    for trade, record in zip(trades, records, strict=True):
        assert isinstance(trade, Trade)
        got = (trade.symbol, hhmmss(trade.time), trade.price, trade.change, trade.change_rate,
               trade.quantity, trade.volume, trade.open, trade.high, trade.low,
               trade.best_ask, trade.best_bid)  # fmt: skip
        assert got == expected_trade(capture.tr_id, record)
        assert all(type(v) is Decimal for v in got[2:5] + got[7:])
        assert type(trade.quantity) is int and type(trade.volume) is int


@pytest.mark.parametrize(
    "capture", captures.DOMESTIC_BOOKS + captures.US_BOOKS, ids=lambda c: c.source[:40]
)
def test_every_captured_book_reads_as_typed_values(capture):
    [book] = capture_parser(capture).parse(capture.frame)
    r = capture.fields()
    assert isinstance(book, OrderBook)
    if capture.tr_id == "H0STASP0":
        asks, bids = r[3:13], r[13:23]
        ask_qty, bid_qty, totals = r[23:33], r[33:43], (r[43], r[44])
    else:  # ten levels of PBID, PASK, VBID, VASK, DBID, DASK from field 11
        levels = [r[i : i + 6] for i in range(11, 71, 6)]
        bids, asks = [lv[0] for lv in levels], [lv[1] for lv in levels]
        bid_qty, ask_qty, totals = [lv[2] for lv in levels], [lv[3] for lv in levels], (r[8], r[7])
    assert book.ask_prices == tuple(map(Decimal, asks))
    assert book.bid_prices == tuple(map(Decimal, bids))
    assert book.ask_quantities == tuple(map(int, ask_qty))
    assert book.bid_quantities == tuple(map(int, bid_qty))
    assert (book.total_ask_quantity, book.total_bid_quantity) == tuple(map(int, totals))
    assert book.depth == 10


@pytest.mark.parametrize("capture", captures.DOMESTIC_NOTICES, ids=lambda c: c.source[:40])
def test_every_captured_notice_reads_its_zero_padded_numbers(capture):
    [notice] = capture_parser(capture).parse(capture.frame)
    r = capture.fields()
    assert isinstance(notice, ExecutionNotice)
    assert (notice.order_no, notice.symbol, notice.symbol_name) == (r[2], r[8], r[21])
    assert notice.side == (Side.BUY if r[4] == "02" else Side.SELL)
    assert (notice.quantity, notice.order_quantity) == (int(r[9]), int(r[16]))
    assert notice.price == Decimal(int(r[10]))
    assert notice.order_price == (Decimal(int(r[22])) if r[22] else None)
    assert notice.is_fill == (r[13] == "2") and hhmmss(notice.time) == r[11]


def test_the_us_record_issue_9_quotes_reads_to_its_figures():
    [first, second] = FrameParser().parse(captures.US_TRADES[0].frame)
    assert (first.key, first.symbol, first.time) == ("DNASAAPL", "AAPL", time(9, 19, 12))
    assert (first.price, first.change, first.change_rate) == (
        Decimal("169.7850"), Decimal("0.1950"), Decimal("0.11"),
    )  # fmt: skip
    assert (first.quantity, first.volume, second.volume) == (1, 108464, 108467)


def test_a_falling_us_trade_has_a_negative_change_though_diff_is_unsigned():
    [trade] = FrameParser().parse(captures.US_TRADES[5].frame)  # GOOGL: SIGN 5, DIFF 4.4700
    assert (trade.change, trade.change_rate) == (Decimal("-4.4700"), Decimal("-1.25"))


def test_the_encrypted_paper_notice_decrypts_with_its_ack_key():
    capture = captures.DOMESTIC_NOTICES[-1]
    [notice] = capture_parser(capture).parse(capture.frame)
    assert (notice.tr_id, notice.order_no, notice.symbol_name) == (
        "H0STCNI9",
        "0000030071",
        "삼성전자",
    )
    assert (notice.quantity, notice.price, notice.order_price) == (1, Decimal(0), None)
    assert not notice.is_fill and not notice.rejected


def test_captures_with_a_field_past_the_known_layout_parse_and_log_the_drift(caplog):
    parser = FrameParser()
    with caplog.at_level(logging.WARNING, logger="kisweb.kis.realtime.frames"):
        [trade] = parser.parse(captures.DOMESTIC_TRADES[0].frame)  # 47 fields
        [book] = parser.parse(captures.DOMESTIC_BOOKS[0].frame)  # 63 fields
    assert (trade.price, trade.change) == (Decimal(277750), Decimal(3750))
    assert (book.ask_prices[0], book.bid_prices[0]) == (Decimal(278000), Decimal(277500))
    assert [r.message.split()[0] for r in caplog.records] == ["H0STCNT0", "H0STASP0"]
