"""The realtime WebSocket service (docs/kis-protocol.md §7).

A session is bound to an app key by the approval key of its first valid subscribe message;
a second open session for the same app key is refused with OPSP8996 and closed, while the
older one keeps working (§7.5). Each session gets one AES key/iv pair, returned in every
ack; notice frames to that session are encrypted with it (§7.4).

Market events arrive on whatever thread changed the market (with the market lock held):
they are formatted there and handed to the event loop, where a writer task per session
sends them in order.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import json
import secrets
import string
import threading
from collections.abc import Callable
from decimal import Decimal

from aiohttp import WSMsgType, web
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .accounts import SimAccount
from .clock import KST, us_local
from .faults import Faults
from .market import Market, MarketEvent, Order, Symbol, Trade
from .oauth import TokenStore
from .stats import Stats
from .wire import Side, sign, yyyymmdd
from .wire import hhmmss as _hms

MAX_REGISTRATIONS = 41  # per session, notices included (§6)
CLOSE_TIMEOUT_S = 0.2  # how long a closing handshake may wait for the client (fast stop)
DOMESTIC_QUOTE_TRS = frozenset({"H0STCNT0", "H0STASP0"})
US_QUOTE_TRS = frozenset({"HDFSCNT0", "HDFSASP0"})
NOTICE_TRS = {
    "real": {"H0STCNI0": "domestic", "H0GSCNI0": "overseas"},
    "paper": {"H0STCNI9": "domestic", "H0GSCNI9": "overseas"},
}

# OPSP control answers (§7.6). The split of OPSP9990–9999 over the JSON faults is ours.
OK_SUBSCRIBE = ("OPSP0000", "SUBSCRIBE SUCCESS")
OK_UNSUBSCRIBE = ("OPSP0001", "UNSUBSCRIBE SUCCESS")
ALREADY_SUBSCRIBED = ("OPSP0002", "ALREADY IN SUBSCRIBE")
UNSUBSCRIBE_ERROR = ("OPSP0003", "UNSUBSCRIBE ERROR(not found!)")
MAX_SUBSCRIBE_OVER = ("OPSP0008", "MAX SUBSCRIBE OVER")
INVALID_APPKEY = ("OPSP0010", "invalid appkey")
INVALID_APPROVAL = ("OPSP0011", "invalid approval : NOT FOUND")
INVALID_TR_ID = ("OPSP8991", "invalid tr_id")
INVALID_TR_KEY = ("OPSP8992", "invalid tr_key")
ALREADY_IN_USE = ("OPSP8996", "ALREADY IN USE appkey")
INVALID_TR_TYPE = ("OPSP8997", "invalid tr_type")
INVALID_CUSTTYPE = ("OPSP8998", "invalid custtype")
INVALID_JSON = ("OPSP9999", "JSON PARSING ERROR : invalid json format")
HEADER_MISSING = ("OPSP9998", "JSON PARSING ERROR : header not found")
BODY_MISSING = ("OPSP9997", "JSON PARSING ERROR : body not found")
INPUT_MISSING = ("OPSP9996", "JSON PARSING ERROR : input not found")
TR_ID_MISSING = ("OPSP9995", "JSON PARSING ERROR : tr_id not found")
TR_KEY_MISSING = ("OPSP9994", "JSON PARSING ERROR : tr_key not found")
APPROVAL_MISSING = ("OPSP9993", "JSON PARSING ERROR : approval_key not found")
TR_TYPE_MISSING = ("OPSP9992", "JSON PARSING ERROR : tr_type not found")

MALFORMED_FRAME = "0|H0STCNT0|001"  # three fields and no payload: breaks `enc|TR|NNN|data`


def _ascii_key(length: int, alphabet: str) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def encrypt_notice(plain: str, key: str, iv: str) -> str:
    """Base64 of AES-256-CBC/PKCS7 with the ack's key and iv used as ASCII bytes (§7.4)."""
    padder = padding.PKCS7(128).padder()
    data = padder.update(plain.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key.encode()), modes.CBC(iv.encode())).encryptor()
    return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode()


class Session:
    """One WebSocket connection: its registrations, AES key/iv, and an ordered outbox."""

    def __init__(self, ws: web.WebSocketResponse, env: str, transport: asyncio.Transport | None):
        self.ws = ws
        self.transport = transport
        self.env = env
        self.appkey: str | None = None
        self.subs: set[tuple[str, str]] = set()
        # Observed: iv 16 hex-looking chars, key 32 lowercase letters (§7.2).
        self.iv = _ascii_key(16, "0123456789abcdef")
        self.key = _ascii_key(32, string.ascii_lowercase)
        self.outbox: asyncio.Queue[str | None] = asyncio.Queue()  # None: close after the rest
        self.answered = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    def send(self, text: str) -> None:
        self.outbox.put_nowait(text)

    def close_after_flush(self) -> None:
        self.outbox.put_nowait(None)

    async def writer(self) -> None:
        while True:
            text = await self.outbox.get()
            try:
                if text is None:
                    await self.ws.close()
                    return
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return


class Hub:
    """All sessions of both environments, and the fan-out of market events to them."""

    def __init__(
        self,
        market: Market,
        tokens: TokenStore,
        faults: Faults,
        stats: Stats,
        account_for: Callable[[str], SimAccount | None],
        pingpong_interval_s: float,
        pingpong_timeout_s: float,
    ):
        self.market = market
        self.tokens = tokens
        self.faults = faults
        self.stats = stats
        self.account_for = account_for
        self.pingpong_interval_s = pingpong_interval_s
        self.pingpong_timeout_s = pingpong_timeout_s
        self.loop: asyncio.AbstractEventLoop | None = None
        self.sessions: set[Session] = set()
        self._bound: dict[str, Session] = {}
        self._index: dict[tuple[str, str], set[Session]] = {}
        self._index_lock = threading.Lock()
        market.subscribe(self.on_market_event)

    # -- connection ----------------------------------------------------------------------

    async def handle(self, request: web.Request, env: str) -> web.WebSocketResponse:
        # autoping=False: client ping/pong frames reach us and count as PINGPONG answers.
        ws = web.WebSocketResponse(autoping=False, max_msg_size=64 * 1024, timeout=CLOSE_TIMEOUT_S)
        await ws.prepare(request)
        session = Session(ws, env, request.transport)
        self.sessions.add(session)
        session.tasks = [
            asyncio.create_task(session.writer()),
            asyncio.create_task(self._heartbeat(session)),
        ]
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_text(session, msg.data)
                elif msg.type == WSMsgType.PING:
                    session.answered.set()
                    await ws.pong(msg.data)
                elif msg.type == WSMsgType.PONG:
                    session.answered.set()
                elif msg.type == WSMsgType.BINARY:
                    self._error(session, INVALID_JSON)
        finally:
            await self._forget(session)
        return ws

    async def _forget(self, session: Session) -> None:
        self.sessions.discard(session)
        with self._index_lock:
            for sub in session.subs:
                self._index.get(sub, set()).discard(session)
        if session.appkey and self._bound.get(session.appkey) is session:
            del self._bound[session.appkey]
            self.stats.session_closed(session.appkey)
        for task in session.tasks:
            task.cancel()
        await asyncio.gather(*session.tasks, return_exceptions=True)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await session.ws.close()

    async def _heartbeat(self, session: Session) -> None:
        """Send PINGPONG every interval; close a client that does not answer in time."""
        while True:
            await asyncio.sleep(self.pingpong_interval_s)
            session.answered.clear()
            stamp = dt.datetime.now(KST).strftime("%Y%m%d%H%M%S")
            session.send(json.dumps({"header": {"tr_id": "PINGPONG", "datetime": stamp}}))
            try:
                await asyncio.wait_for(session.answered.wait(), self.pingpong_timeout_s)
            except TimeoutError:
                await session.ws.close()
                return

    async def close_all(self) -> None:
        async def close(session: Session) -> None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await session.ws.close()

        await asyncio.gather(*(close(s) for s in list(self.sessions)))

    def send_malformed(self) -> None:
        for session in list(self.sessions):
            session.send(MALFORMED_FRAME)

    # -- control messages ----------------------------------------------------------------

    def _error(
        self,
        session: Session,
        answer: tuple[str, str],
        tr_id: str = "",
        tr_key: str = "",
        rt_cd: str = "1",
    ) -> None:
        msg_cd, msg1 = answer
        session.send(
            json.dumps(
                {
                    "header": {"tr_id": tr_id, "tr_key": tr_key, "encrypt": "N"},
                    "body": {"rt_cd": rt_cd, "msg_cd": msg_cd, "msg1": msg1},
                },
                ensure_ascii=False,
            )
        )

    def _ack(self, session: Session, answer: tuple[str, str], tr_id: str, tr_key: str) -> None:
        encrypt = "Y" if tr_id in NOTICE_TRS[session.env] else "N"
        msg_cd, msg1 = answer
        session.send(
            json.dumps(
                {
                    "header": {"tr_id": tr_id, "tr_key": tr_key, "encrypt": encrypt},
                    "body": {
                        "rt_cd": "0",
                        "msg_cd": msg_cd,
                        "msg1": msg1,
                        "output": {"iv": session.iv, "key": session.key},
                    },
                }
            )
        )

    async def _on_text(self, session: Session, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            return self._error(session, INVALID_JSON)
        if not isinstance(message, dict):
            return self._error(session, INVALID_JSON)
        header = message.get("header")
        if not isinstance(header, dict):
            return self._error(session, HEADER_MISSING)
        if header.get("tr_id") == "PINGPONG":  # an echoed heartbeat
            session.answered.set()
            return None
        body = message.get("body")
        if not isinstance(body, dict):
            return self._error(session, BODY_MISSING)
        data = body.get("input")
        if not isinstance(data, dict):
            return self._error(session, INPUT_MISSING)
        tr_id, tr_key = data.get("tr_id"), data.get("tr_key")
        if not isinstance(tr_id, str) or not tr_id:
            return self._error(session, TR_ID_MISSING)
        if not isinstance(tr_key, str) or not tr_key:
            return self._error(session, TR_KEY_MISSING, tr_id)
        approval_key = header.get("approval_key")
        if not isinstance(approval_key, str) or not approval_key:
            return self._error(session, APPROVAL_MISSING, tr_id, tr_key)
        appkey = self.tokens.approval_owner(approval_key)
        account = self.account_for(appkey) if appkey else None
        if account is None:
            return self._error(session, INVALID_APPROVAL, tr_id, tr_key)
        if account.env != session.env:
            return self._error(session, INVALID_APPKEY, tr_id, tr_key)
        if header.get("custtype", "P") not in ("P", "B"):
            return self._error(session, INVALID_CUSTTYPE, tr_id, tr_key)
        tr_type = header.get("tr_type")
        if tr_type is None:
            return self._error(session, TR_TYPE_MISSING, tr_id, tr_key)
        if tr_type not in ("1", "2"):
            return self._error(session, INVALID_TR_TYPE, tr_id, tr_key)
        if session.appkey is None:
            holder = self._bound.get(account.appkey)
            if holder is not None and holder is not session:
                self._error(session, ALREADY_IN_USE, tr_id, tr_key, rt_cd="9")
                self.stats.session_refused(account.appkey)
                return session.close_after_flush()  # the newer session goes, the older stays
            session.appkey = account.appkey
            self._bound[account.appkey] = session
            self.stats.session_opened(account.appkey)
        elif session.appkey != account.appkey:
            return self._error(session, INVALID_APPKEY, tr_id, tr_key)
        if not self._valid_tr(session.env, tr_id):
            return self._error(session, INVALID_TR_ID, tr_id, tr_key)
        if not self._valid_key(session.env, tr_id, tr_key):
            return self._error(session, INVALID_TR_KEY, tr_id, tr_key)
        sub = (tr_id, tr_key)
        if tr_type == "1":
            if sub in session.subs:
                return self._error(session, ALREADY_SUBSCRIBED, tr_id, tr_key)
            if len(session.subs) >= MAX_REGISTRATIONS:
                return self._error(session, MAX_SUBSCRIBE_OVER, tr_id, tr_key)
            session.subs.add(sub)
            with self._index_lock:
                self._index.setdefault(sub, set()).add(session)
            self.stats.registration_made(account.appkey, tr_id, tr_key)
            return self._ack(session, OK_SUBSCRIBE, tr_id, tr_key)
        if sub not in session.subs:
            return self._error(session, UNSUBSCRIBE_ERROR, tr_id, tr_key)
        session.subs.discard(sub)
        with self._index_lock:
            self._index.get(sub, set()).discard(session)
        return self._ack(session, OK_UNSUBSCRIBE, tr_id, tr_key)

    @staticmethod
    def _valid_tr(env: str, tr_id: str) -> bool:
        return tr_id in DOMESTIC_QUOTE_TRS or tr_id in US_QUOTE_TRS or tr_id in NOTICE_TRS[env]

    def _valid_key(self, env: str, tr_id: str, tr_key: str) -> bool:
        if tr_id in NOTICE_TRS[env]:
            return len(tr_key) <= 16  # an HTS ID; a wrong one just never hears anything
        if tr_id in DOMESTIC_QUOTE_TRS:
            sym = self.market.symbols.get(tr_key)
            return sym is not None and sym.domestic
        # US quotes: D + quote exchange + ticker, e.g. DNASAAPL (§7.1)
        sym = self.market.symbols.get(tr_key[4:])
        return (
            tr_key[:1] == "D" and sym is not None and not sym.domestic and tr_key[1:4] == sym.market
        )

    # -- market events -------------------------------------------------------------------

    def _subscribers(self, tr_id: str, tr_key: str) -> list[Session]:
        with self._index_lock:
            return list(self._index.get((tr_id, tr_key), ()))

    def on_market_event(self, event: MarketEvent) -> None:
        """Runs with the market lock held, on any thread: format now, send on the loop."""
        if self.loop is None or self.loop.is_closed():
            return
        sym = event.symbol
        if event.kind == "trades":
            tr_id = "H0STCNT0" if sym.domestic else "HDFSCNT0"
            key = sym.code if sym.domestic else f"D{sym.market}{sym.code}"
            sessions = self._subscribers(tr_id, key)
            if sessions:
                trade_fmt = trade_fields if sym.domestic else us_trade_fields
                records = [trade_fmt(sym, t) for t in event.trades]
                self._schedule(sessions, tr_id, records, None)
        elif event.kind == "book":
            tr_id = "H0STASP0" if sym.domestic else "HDFSASP0"
            key = sym.code if sym.domestic else f"D{sym.market}{sym.code}"
            sessions = self._subscribers(tr_id, key)
            if sessions:
                book_fmt = book_fields if sym.domestic else us_book_fields
                self._schedule(sessions, tr_id, [book_fmt(sym, self.market.clock.now())], None)
        elif event.kind == "notice" and event.ledger is not None and event.order is not None:
            account = event.ledger.account
            kind = "domestic" if sym.domestic else "overseas"
            tr_id = next(t for t, k in NOTICE_TRS[account.env].items() if k == kind)
            sessions = [s for s in self._subscribers(tr_id, account.hts_id) if s.env == account.env]
            if sessions:
                notice_fmt = notice_fields if sym.domestic else us_notice_fields
                plain = "^".join(notice_fmt(account, event))
                self._schedule(sessions, tr_id, [], plain)

    def _schedule(
        self,
        sessions: list[Session],
        tr_id: str,
        records: list[list[str]],
        plain: str | None,
    ) -> None:
        """Send `plain` encrypted (a notice) or else `records` as one plain frame."""
        loop = self.loop
        if loop is None:
            return
        drift = self.faults.schema_drift.get(tr_id, 0)

        def deliver() -> None:
            for session in sessions:
                if session not in self.sessions:
                    continue
                if plain is not None:
                    payload = encrypt_notice(plain, session.key, session.iv)
                    session.send(f"1|{tr_id}|001|{payload}")
                else:
                    fields = [f for r in records for f in r + ["0"] * drift]
                    session.send(f"0|{tr_id}|{len(records):03d}|{'^'.join(fields)}")

        loop.call_soon_threadsafe(deliver)


# -- field layouts (§7.8; shapes as captured: docs/kis-protocol.md §7.9) -------------------

CENT = Decimal("0.01")
US_REGULAR_OPEN = dt.time(9, 30)
US_REGULAR_CLOSE = dt.time(16, 0)


def _int(value: Decimal) -> str:
    return str(int(value))


def _signed(value: Decimal) -> tuple[str, str]:
    return sign(value), _int(value)


def _percent(value: Decimal) -> str:
    """Two decimals, minus for a fall, never ``-0.00`` (``-1.11``, ``0.00``, ``1.37``)."""
    return str(value.quantize(CENT) + 0)


def _padded(value: Decimal | int, width: int) -> str:
    """A notice's quantity or whole-won price: zero-padded digits (``0000000001``)."""
    return f"{int(value):0{width}d}"


def trade_fields(sym: Symbol, trade: Trade) -> list[str]:
    """H0STCNT0: 46 fields."""
    best_ask = sym.asks[0] if sym.asks else None
    best_bid = sym.bids[0] if sym.bids else None
    strength = (
        Decimal(sym.buy_qty * 100) / sym.sell_qty if sym.sell_qty else Decimal(100)
    ).quantize(CENT)
    buy_ratio = (
        Decimal(sym.buy_qty * 100) / (sym.buy_qty + sym.sell_qty)
        if sym.buy_qty + sym.sell_qty
        else Decimal(0)
    ).quantize(CENT)
    vol_rate = (Decimal(sym.volume * 100) / sym.prev_volume).quantize(CENT)
    open_sign, open_diff = _signed(trade.price - sym.open)
    high_sign, high_diff = _signed(trade.price - sym.high)
    low_sign, low_diff = _signed(trade.price - sym.low)
    return [
        sym.code,
        _hms(trade.time),
        _int(trade.price),
        sym.sign,
        _int(trade.price - sym.base),
        _percent((trade.price - sym.base) * 100 / sym.base),
        str(sym.vwap.quantize(CENT)),
        _int(sym.open),
        _int(sym.high),
        _int(sym.low),
        _int(best_ask.price) if best_ask else "0",
        _int(best_bid.price) if best_bid else "0",
        str(trade.qty),
        str(sym.volume),
        _int(sym.value),
        str(sym.sell_count),
        str(sym.buy_count),
        str(sym.buy_count - sym.sell_count),
        str(strength),
        str(sym.sell_qty),
        str(sym.buy_qty),
        trade.side,
        str(buy_ratio),
        str(vol_rate),
        _hms(sym.open_time),
        open_sign,
        open_diff,
        _hms(sym.high_time),
        high_sign,
        high_diff,
        _hms(sym.low_time),
        low_sign,
        low_diff,
        yyyymmdd(trade.time),
        "20",
        "N",
        str(best_ask.qty) if best_ask else "0",
        str(best_bid.qty) if best_bid else "0",
        str(sum(level.qty for level in sym.asks)),
        str(sum(level.qty for level in sym.bids)),
        "0.12",
        str(sym.prev_volume // 2),
        str((Decimal(sym.volume * 100) / max(sym.prev_volume // 2, 1)).quantize(CENT)),
        "0",
        "",
        _int(sym.base),
    ]


def book_fields(sym: Symbol, now: dt.datetime) -> list[str]:
    """H0STASP0: the 59 documented fields plus the three KMID_* fields seen since 2026.

    In session the expected-trade fields read as captured: no expected price, so its
    change is minus the base price, sign 5, rate -100.00. KMID_PRC is whole won; a mid
    between one-won ticks is cut to the lower won (no capture shows that case)."""
    asks = [_int(level.price) for level in sym.asks] + ["0"] * (10 - len(sym.asks))
    bids = [_int(level.price) for level in sym.bids] + ["0"] * (10 - len(sym.bids))
    ask_qty = [str(level.qty) for level in sym.asks] + ["0"] * (10 - len(sym.asks))
    bid_qty = [str(level.qty) for level in sym.bids] + ["0"] * (10 - len(sym.bids))
    total_ask = sum(level.qty for level in sym.asks)
    total_bid = sum(level.qty for level in sym.bids)
    mid = (sym.asks[0].price + sym.bids[0].price) / 2 if sym.asks and sym.bids else sym.price
    return [
        sym.code,
        _hms(now),
        "0",
        *asks,
        *bids,
        *ask_qty,
        *bid_qty,
        str(total_ask),
        str(total_bid),
        "0",
        "0",
        "0",
        "0",
        "0",
        _int(-sym.base),
        "5",
        "-100.00",
        str(sym.volume),
        "0",
        "0",
        "0",
        "0",
        "0",
        _int(mid),
        "0",
        "0",
    ]


def _us_time_fields(now: dt.datetime) -> list[str]:
    local = us_local(now)
    kst = now.astimezone(KST)
    return [
        yyyymmdd(local),
        _hms(local),
        yyyymmdd(kst),
        _hms(kst),
    ]


def _usd(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.0001")))


def _us_rate(value: Decimal) -> str:
    """HDFSCNT0 RATE: a rise carries ``+`` (``+0.11``), flat ``0.00``, a fall ``-1.25``."""
    text = _percent(value)
    return f"+{text}" if value.quantize(CENT) > 0 else text


def _us_market_type(moment: dt.datetime) -> str:
    """MTYP by New York time: captures show 1 before the open, 2 in regular hours; 3 after
    the close follows the documented order (no capture)."""
    local = us_local(moment).time()
    if local < US_REGULAR_OPEN:
        return "1"
    return "2" if local < US_REGULAR_CLOSE else "3"


def us_trade_fields(sym: Symbol, trade: Trade) -> list[str]:
    """HDFSCNT0: 26 fields, RSYM first (§7.8). DIFF is unsigned (SIGN tells the direction),
    TAMT whole dollars."""
    local_date, local_time, kst_date, kst_time = _us_time_fields(trade.time)
    bid = sym.bids[0] if sym.bids else None
    ask = sym.asks[0] if sym.asks else None
    change = trade.price - sym.base
    return [
        f"D{sym.market}{sym.code}",
        sym.code,
        "4",
        local_date,
        local_date,
        local_time,
        kst_date,
        kst_time,
        _usd(sym.open),
        _usd(sym.high),
        _usd(sym.low),
        _usd(trade.price),
        sym.sign,
        _usd(abs(change)),
        _us_rate(change * 100 / sym.base),
        _usd(bid.price if bid else Decimal(0)),
        _usd(ask.price if ask else Decimal(0)),
        str(bid.qty) if bid else "0",
        str(ask.qty) if ask else "0",
        str(trade.qty),
        str(sym.volume),
        _int(sym.value),
        str(sym.sell_qty),
        str(sym.buy_qty),
        str(
            (Decimal(sym.buy_qty * 100) / sym.sell_qty if sym.sell_qty else Decimal(100)).quantize(
                CENT
            )
        ),
        _us_market_type(trade.time),
    ]


US_BOOK_DEPTH = 10


def us_book_fields(sym: Symbol, now: dt.datetime) -> list[str]:
    """HDFSASP0: 71 fields as captured: RSYM, SYMB, ZDIV, XYMD, XHMS, KYMD, KHMS, BVOL,
    AVOL, BDVL, ADVL, then PBID, PASK, VBID, VASK, DBID, DASK for each of 10 levels."""
    local_date, local_time, kst_date, kst_time = _us_time_fields(now)
    fields = [
        f"D{sym.market}{sym.code}",
        sym.code,
        "4",
        local_date,
        local_time,
        kst_date,
        kst_time,
        str(sum(level.qty for level in sym.bids)),
        str(sum(level.qty for level in sym.asks)),
        "0",
        "0",
    ]
    for depth in range(US_BOOK_DEPTH):
        bid = sym.bids[depth] if depth < len(sym.bids) else None
        ask = sym.asks[depth] if depth < len(sym.asks) else None
        fields += [
            _usd(bid.price if bid else Decimal(0)),
            _usd(ask.price if ask else Decimal(0)),
            str(bid.qty) if bid else "0",
            str(ask.qty) if ask else "0",
            "0",
            "0",
        ]
    return fields


def _notice_basics(
    event: MarketEvent,
) -> tuple[Order, str, str, str, str, int, Decimal, dt.datetime]:
    """(order, RCTF_CLS, RFUS_YN, CNTG_YN, ACPT_YN, qty, price, time) for a notice event:
    the fill's quantity, price and time for a fill, else the order's (§7.8)."""
    order, notice = event.order, event.notice
    assert order is not None and notice is not None
    rctf = {"00": "0", "01": "1", "02": "2"}[order.kind]
    refused = "1" if notice == "reject" else "0"
    filled = "2" if notice == "fill" else "1"
    accepted = {"accept": "1", "reject": "1", "fill": "2", "revise": "2", "cancel": "2"}[notice]
    if notice == "cancel" and order.kind == "00":
        accepted = "3"  # an IOC/FOK remainder cancelled by the exchange
    fill = event.fill
    if fill:
        return order, rctf, refused, filled, accepted, fill.qty, fill.price, fill.time
    return order, rctf, refused, filled, accepted, order.qty, order.price, order.time


def notice_fields(account: SimAccount, event: MarketEvent) -> list[str]:
    """H0STCNI0/H0STCNI9: 23 fields, as every captured notice has them (§7.8 lists 26:
    ORD_COND_PRC, ORD_EXG_GB, POPUP_YN and FILLER arrive as the one field ``1Y``).
    CNTG_QTY is 10 digits, CNTG_UNPR and the order's quantity and price 9, zero-padded;
    ODER_PRC is empty but on a fill. A fill carries fill qty/price, else the order's."""
    order, rctf, refused, filled, accepted, qty, price, moment = _notice_basics(event)
    return [
        account.hts_id,
        account.account_no,
        order.odno,
        order.orgn_odno,
        "02" if order.side is Side.BUY else "01",
        rctf,
        order.ord_dvsn,
        "0",
        order.symbol.code,
        _padded(qty, 10),
        _padded(price, 9),
        _hms(moment),
        refused,
        filled,
        accepted,
        order.orgno,
        _padded(order.qty, 9),
        account.name,
        "1Y",
        "10",
        "",
        order.symbol.name,
        _padded(order.price, 9) if filled == "2" else "",
    ]


US_ORDER_CONDITION = {"NAS": "6", "NYS": "7", "AMS": "8"}


def us_notice_fields(account: SimAccount, event: MarketEvent) -> list[str]:
    """H0GSCNI0/H0GSCNI9: 25 fields; prices carry 4 implied decimals, 9 digits (§7.8)."""
    order, rctf, refused, filled, accepted, qty, price, moment = _notice_basics(event)
    return [
        account.hts_id,
        account.account_no,
        order.odno,
        order.orgn_odno,
        "02" if order.side is Side.BUY else "01",
        rctf,
        "2",
        order.symbol.code,
        str(qty),
        f"{int(price * 10000):09d}",
        _hms(moment),
        refused,
        filled,
        accepted,
        order.orgno,
        str(order.qty),
        account.name,
        order.symbol.name,
        US_ORDER_CONDITION.get(order.symbol.market, "6"),
        "10",
        "",
        "",
        "",
        "",
        f"{int(price * 10000):012d}",
    ]
