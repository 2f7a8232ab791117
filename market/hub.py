"""The relay's hub: one ``RealtimeSession`` per app key, shared by every tab of every user.

The process boundary is the channel layer. Browser sockets (``market.consumers``) never
touch KIS: they send small flat messages (str/int only) to the hub's named channel and
join groups; the hub counts references per (TR ID, key), subscribes upstream on the first
one, keeps a registration for ``grace_s`` after the last viewer leaves (reloads and page
flicks cause no churn), and ``group_send``s every event, already serialized as the
browser's JSON text, to a group per (app key, stream, symbol). In demo the hub runs in
the web server's process on the in-memory layer (``ensure_local_hub``); ``manage.py
runrelay`` runs the same class as its own process on channels-redis.

Consumer -> hub (``HUB_CHANNEL``), all fields str or int:

- ``relay.renew``  channel, user, credential, interests (``"005930:KOSPI:trade,book;..."``):
  the socket's whole state, sent on connect and every ``renew_s``. It is the lease: a
  socket not heard from for ``lease_s`` is released, so a dead web process leaves no
  reference forever, and a restarted hub learns every interest again.
- ``relay.interest`` / ``relay.release``  channel, user, credential, symbol, market, streams
  (``"trade,book"``).
- ``relay.bye``  channel.

Hub -> consumer: ``relay.subscribed`` (symbol, streams, mode) and ``relay.error`` (code,
symbol) on its channel; ``relay.frame`` (group, kind, text) on quote groups (each web
process joins them once, ``market.fanout``); ``relay.status``
(text) on the app key's status group; ``relay.notice`` (symbol, name, side, quantity,
price, kind, order_id) on the owner's user group only; ``relay.hello`` (no fields) on
``HELLO_GROUP`` when a relay starts serving, which every socket answers with a
``relay.renew`` at once (a relay taking over learns every interest in one round).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import platform
import random
import re
import time
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async
from channels.exceptions import ChannelFull  # type: ignore[import-untyped]  # channels ships no type information
from channels.layers import get_channel_layer  # type: ignore[import-untyped]  # channels ships no type information
from django.conf import settings
from django.db import close_old_connections

from kisweb.kis import KisError, UsExchange
from kisweb.kis.realtime import (
    ConnectionState,
    ExecutionNotice,
    OrderBook,
    RealtimeSession,
    SessionState,
    Trade,
)
from kisweb.kis.realtime.events import NoticeAction
from kisweb.ops.heartbeat import abeat
from kisweb.ops.metrics import RELAY_DROPS, RELAY_FRAMES, RELAY_RECONNECTS, RELAY_REGISTRATIONS
from market.lease import RelayLeases

log = logging.getLogger(__name__)

KST = dt.timezone(dt.timedelta(hours=9))
STREAMS = ("trade", "book")
HEARTBEAT_EVERY_S = 10  # well inside KISWEB_HEARTBEAT_STALE_S (30 s), which /readyz uses
LAYER_RETRY_S = 1.0
STOP_WAIT_S = 5.0  # how long a shutdown waits for a cancelled task before logging it
STATUS_EVERY_S = 0.25  # at most one status per app key this often while tabs (un)subscribe
REPLY_RETRY_S = 10.0  # how long an answer waits for room on a socket's full channel
_DOMESTIC_MARKETS = frozenset({"KOSPI", "KOSDAQ", "KONEX"})
_US_EXCHANGES = {"NASD": UsExchange.NASDAQ, "NYSE": UsExchange.NYSE, "AMEX": UsExchange.AMEX}
_GROUP_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
HELLO_GROUP = "relay.hello"  # every socket with a credential; a new active relay calls it


Registration = tuple[str, str]  # (tr_id, tr_key)


class KeyHeldElsewhere(Exception):
    """Another relay holds this app key's lease (by its hash): no session is opened here."""


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def hub_channel() -> str:
    return str(_setting("KISWEB_RELAY_CHANNEL", "market.hub"))


def key_hash(app_key: str) -> str:
    """Group names carry a hash of the app key, never the key itself."""
    return hashlib.sha256(app_key.encode()).hexdigest()[:16]


def quote_group(app_key: str, stream: str, symbol: str) -> str:
    return f"q.{key_hash(app_key)}.{stream}.{_GROUP_UNSAFE.sub('_', symbol)}"


def status_group(app_key: str) -> str:
    return f"s.{key_hash(app_key)}"


def user_group(user_id: int) -> str:
    return f"u.{int(user_id)}"


def registration_for(stream: str, symbol: str, market: str) -> Registration:
    """The KIS (TR ID, key) of one stream of one symbol (docs/kis-protocol.md §7.1)."""
    if market in _DOMESTIC_MARKETS:
        return ("H0STCNT0" if stream == "trade" else "H0STASP0", symbol)
    exchange = _US_EXCHANGES.get(market, UsExchange.NASDAQ)
    return ("HDFSCNT0" if stream == "trade" else "HDFSASP0", f"D{exchange.quote_code}{symbol}")


def encode_interests(interests: dict[str, tuple[str, set[str]]]) -> str:
    """``{symbol: (market, streams)}`` as one flat string for a channel-layer message."""
    return ";".join(
        f"{symbol}:{market}:{','.join(sorted(streams))}"
        for symbol, (market, streams) in sorted(interests.items())
        if streams
    )


def decode_interests(text: str) -> dict[str, tuple[str, set[str]]]:
    result: dict[str, tuple[str, set[str]]] = {}
    for part in (text or "").split(";"):
        pieces = part.split(":")
        if len(pieces) != 3 or not pieces[0]:
            continue
        streams = {s for s in pieces[2].split(",") if s in STREAMS}
        if streams:
            result[pieces[0]] = (pieces[1], streams)
    return result


def _account(number: str) -> str:
    """CANO: notices carry it with or without the product code (8 + 2 digits)."""
    return "".join(ch for ch in number if ch.isdigit())[:8]


def _num(value: Decimal | int) -> str:
    return str(value)


def _sign(change: Decimal) -> str:
    """PRDY_VRSS_SIGN from the change (the session's ``Trade`` keeps no limit flags)."""
    return "2" if change > 0 else "5" if change < 0 else "3"


def trade_text(symbol: str, trade: Trade, currency: str) -> str:
    return json.dumps(
        {
            "type": "trade",
            "symbol": symbol,
            "price": _num(trade.price),
            "change": _num(trade.change),
            "sign": _sign(trade.change),
            "rate": _num(trade.change_rate),
            "volume": _num(trade.quantity),
            "cum_volume": _num(trade.volume),
            "open": _num(trade.open),
            "high": _num(trade.high),
            "low": _num(trade.low),
            "time": trade.time.strftime("%H%M%S") if trade.time else "",
            "currency": currency,
        },
        separators=(",", ":"),
    )


def book_text(symbol: str, book: OrderBook) -> str:
    texts = book.level_texts()
    return json.dumps(
        {
            "type": "book",
            "symbol": symbol,
            "asks": [list(p) for p in zip(texts.ask_prices, texts.ask_quantities, strict=True)],
            "bids": [list(p) for p in zip(texts.bid_prices, texts.bid_quantities, strict=True)],
            "total_ask": texts.total_ask_quantity,
            "total_bid": texts.total_bid_quantity,
            "time": book.time.strftime("%H%M%S") if book.time else "",
        },
        separators=(",", ":"),
    )


def notice_kind(notice: ExecutionNotice) -> str:
    if notice.rejected:
        return "reject"
    if notice.is_fill:
        return "fill"
    if notice.action is NoticeAction.CANCEL:
        return "cancel"
    if notice.action is NoticeAction.REVISE:
        return "revise"
    return "accept"


async def _stop(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait until they have ended (bounded, then logged): a task left
    running after a shutdown keeps reconnecting and writing to a database that the next
    owner (a test's flush, a standby relay) may be using (issue #11)."""
    tasks = [task for task in tasks if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    done, pending = await asyncio.wait(tasks, timeout=STOP_WAIT_S)
    for task in done:  # marks errors retrieved; a cancelled task has none
        if not task.cancelled() and task.exception() is not None:
            log.warning("relay: %s ended with %r", task.get_name(), task.exception())
    if pending:
        log.error(
            "relay: %s did not stop within %g s",
            ", ".join(sorted(task.get_name() for task in pending)),
            STOP_WAIT_S,
        )


async def _database_thread_idle() -> None:
    """Return once the sync thread the hub's database calls run on is idle, and close its
    connection. A cancelled ``sync_to_async`` call returns at once while its thread goes on
    (a heartbeat or approval-key write, inside a transaction); queued behind it, this call
    ends only when that write has."""
    try:
        await asyncio.wait_for(sync_to_async(close_old_connections)(), STOP_WAIT_S)
    except TimeoutError:
        log.error("relay: a database call was still running %g s after shutdown", STOP_WAIT_S)


# ---------------------------------------------------------------------------- state


@dataclass
class Socket:
    """One browser socket as the hub knows it (its lease and what it watches)."""

    channel: str
    user: int
    credential: str
    app_key: str = ""
    interests: dict[str, tuple[str, set[str]]] = field(default_factory=dict)
    expires: float = 0.0


@dataclass
class Holder:
    """Who holds a registration (or a delayed slot) and for which symbol/stream."""

    symbol: str
    market: str
    stream: str
    channels: set[str] = field(default_factory=set)
    last_text: str = ""  # the newest frame's text, for a socket that joins a live one


class Rate:
    """Events in the last minute (connects, subscribes, unsubscribes) for the strip."""

    def __init__(self) -> None:
        self._stamps: deque[float] = deque()

    def hit(self) -> None:
        self._stamps.append(time.monotonic())

    def per_minute(self) -> int:
        cutoff = time.monotonic() - 60
        while self._stamps and self._stamps[0] < cutoff:
            self._stamps.popleft()
        return len(self._stamps)


class Upstream:
    """One app key's session, its references, grace timers and delayed symbols."""

    def __init__(self, app_key: str, credential_id: str, notice_slots: int) -> None:
        self.app_key = app_key
        self.credential_id = credential_id
        self.owners: dict[str, tuple[str, int]] = {}  # account_no -> (credential id, owner)
        self.session: RealtimeSession | None = None
        self.client: Any = None
        self.stack = contextlib.AsyncExitStack()
        self.holders: dict[Registration, Holder] = {}  # live (subscribed) registrations
        self.grace: dict[Registration, asyncio.Task[None]] = {}
        self.delayed: dict[str, Holder] = {}  # symbol -> holders past the cap (trade only)
        self.delayed_streams: dict[str, set[str]] = {}
        self.notice_slots = notice_slots
        self.tasks: list[asyncio.Task[None]] = []
        self.connects = Rate()
        self.subscribes = Rate()
        self.unsubscribes = Rate()
        self.reconnect_days: list[dt.date] = []
        # The gap of the latest drop: from the last quote before it to the first after.
        self.last_frame_at: float | None = None
        self.gap_from: float | None = None
        self.last_gap_s: float | None = None
        self.orders_open = False
        self.idle_since: float | None = None
        self.last_error = ""
        self.last_error_at: dt.datetime | None = None
        self.status_soon: asyncio.Task[None] | None = None

    @property
    def quote_capacity(self) -> int:
        cap = self.session.health.registrations_max if self.session else 41
        return cap - self.notice_slots

    def reconnects_today(self) -> int:
        today = dt.datetime.now(KST).date()
        return sum(1 for day in self.reconnect_days if day == today)

    def status(self) -> dict[str, Any]:
        health = self.session.health if self.session else None
        state = health.state if health else ConnectionState.CLOSED
        slots = [f"{h.symbol} {h.stream}" for h in self.holders.values()]
        return {
            "type": "status",
            "state": "connected" if state is ConnectionState.OPEN else state.value,
            "registrations": health.registrations_used if health else 0,
            "cap": health.registrations_max if health else 41,
            "last_pingpong": health.last_pingpong_at.isoformat()
            if health and health.last_pingpong_at
            else "",
            "reconnects_today": self.reconnects_today(),
            "last_gap_s": self.last_gap_s,
            "slots": slots,
            "notice_slots": self.notice_slots,
            "delayed": sorted(self.delayed),
            "connects_per_min": self.connects.per_minute(),
            "subscribes_per_min": self.subscribes.per_minute(),
            "unsubscribes_per_min": self.unsubscribes.per_minute(),
            "last_error": self.last_error,
            "last_error_at": self.last_error_at.isoformat() if self.last_error_at else "",
        }


# Snapshots of every upstream's status, by app-key hash, for the health strip and the
# admin page when they run in the hub's process (demo). Hosted mode reads them elsewhere.
SNAPSHOTS: dict[str, dict[str, Any]] = {}


class Hub:
    """The relay. ``await hub.run()`` serves ``HUB_CHANNEL`` until cancelled."""

    def __init__(
        self,
        layer: Any = None,
        *,
        channel: str | None = None,
        grace_s: float | None = None,
        lease_s: float | None = None,
        delayed_poll_s: float | None = None,
        orders_scan_s: float | None = None,
        session_options: dict[str, Any] | None = None,
        leases: RelayLeases | None = None,
    ) -> None:
        self.layer = layer or get_channel_layer()
        self.leases = leases
        self.channel = channel or hub_channel()
        self.grace_s = float(
            grace_s if grace_s is not None else _setting("KISWEB_RELAY_GRACE_S", 30)
        )
        self.lease_s = float(
            lease_s if lease_s is not None else _setting("KISWEB_RELAY_LEASE_S", 60)
        )
        self.delayed_poll_s = float(
            delayed_poll_s
            if delayed_poll_s is not None
            else _setting("KISWEB_RELAY_DELAYED_POLL_S", 2.0)
        )
        self.orders_scan_s = float(
            orders_scan_s
            if orders_scan_s is not None
            else _setting("KISWEB_RELAY_ORDERS_SCAN_S", 30)
        )
        self.session_options = session_options or dict(
            _setting("KISWEB_RELAY_SESSION_OPTIONS", {"reconnect_min_s": 1.0})
        )
        self.sockets: dict[str, Socket] = {}
        self.upstreams: dict[str, Upstream] = {}
        self._starting: dict[str, asyncio.Lock] = {}
        self._opening: set[asyncio.Task[Upstream]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._replies: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> None:
        """Serve until cancelled. With ``leases`` (``runrelay``), only while this relay
        holds the ``active`` lease: a standby waits for it, and a relay that loses it closes
        its sessions, forgets every socket and stands by again (market/lease.py)."""
        if self.leases is None:
            await self._serve()
            return
        try:
            while True:
                fence = await self.leases.wait_active()
                log.info("relay: active (fence %d)", fence)
                await self._serve_while_active()
                log.warning("relay: the active lease was lost; standing by")
        finally:
            await self.leases.release_all()

    async def _serve_while_active(self) -> None:
        assert self.leases is not None
        serving = asyncio.create_task(self._serve(), name="relay-serve")
        keeping = asyncio.create_task(self.leases.keep(self._key_lost), name="relay-leases")
        try:
            await asyncio.wait({serving, keeping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            keeping.cancel()
            serving.cancel()
            await asyncio.gather(serving, keeping, return_exceptions=True)
            self.sockets.clear()  # the next active relay learns them again (relay.hello)
        if not serving.cancelled() and (error := serving.exception()) is not None:
            raise error

    async def _key_lost(self, name: str) -> None:
        """Another relay holds this app key now: its session here closes at once."""
        for upstream in list(self.upstreams.values()):
            if key_hash(upstream.app_key) == name:
                log.warning("relay: lost the lease of app key %s; closing its session", name)
                await self._close_upstream(upstream)

    async def _hello(self) -> None:
        """Every socket answers with its whole state now (``relay.renew``), so a relay that
        just took over serves them at once instead of after their next renew."""
        try:
            await self.layer.group_send(HELLO_GROUP, {"type": "relay.hello"})
        except Exception as error:  # the renews teach us the same, only later
            log.warning("relay: the hello was not sent: %s", type(error).__name__)

    async def _serve(self) -> None:
        self._tasks = [
            asyncio.create_task(self._sweep(), name="relay-sweep"),
            asyncio.create_task(self._scan_orders(), name="relay-orders"),
            asyncio.create_task(self._beat(), name="relay-heartbeat"),
        ]
        await self._hello()
        try:
            while True:
                try:
                    message = await self.layer.receive(self.channel)
                except asyncio.CancelledError:
                    raise
                except Exception as error:  # Redis restarting: listen again, do not die
                    log.warning("relay: the layer receive failed: %s", type(error).__name__)
                    await asyncio.sleep(LAYER_RETRY_S)
                    continue
                try:
                    await self.handle(message)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("relay: a %s message failed", message.get("type"))
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Stop every task, then every session, and return only when all have ended."""
        tasks, self._tasks = self._tasks, []
        await _stop([*tasks, *self._replies])
        if self._opening:  # wait_open bounds them; a leftover is cut short, then closed
            _done, late = await asyncio.wait(set(self._opening), timeout=STOP_WAIT_S)
            await _stop(list(late))
        for upstream in list(self.upstreams.values()):
            await self._close_upstream(upstream)
        await _database_thread_idle()

    async def handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        channel = str(message.get("channel", ""))
        if not channel:
            return
        if kind == "relay.bye":
            await self._forget(channel)
            return
        socket = await self._socket(message)
        if socket is None:
            return
        upstream = self.upstreams.get(socket.app_key)
        if kind == "relay.renew":
            wanted = decode_interests(str(message.get("interests", "")))
            for symbol in set(socket.interests) - set(wanted):
                await self._release(socket, symbol, set(STREAMS))
            for symbol, (market, streams) in wanted.items():
                have = socket.interests.get(symbol, (market, set()))[1]
                if streams - have:
                    await self._interest(socket, symbol, market, streams - have, reply=False)
            if upstream is not None:
                with contextlib.suppress(ChannelFull):  # the next status carries the same
                    await self.layer.send(
                        channel, {"type": "relay.status", "text": self._status(upstream)}
                    )
        elif kind == "relay.interest":
            streams = {s for s in str(message.get("streams", "")).split(",") if s in STREAMS}
            symbol, market = str(message.get("symbol", "")), str(message.get("market", ""))
            if symbol and streams:
                await self._interest(socket, symbol, market, streams, reply=True)
        elif kind == "relay.release":
            streams = {s for s in str(message.get("streams", "")).split(",") if s in STREAMS}
            await self._release(socket, str(message.get("symbol", "")), streams)

    # ------------------------------------------------------------------ sockets

    async def _socket(self, message: dict[str, Any]) -> Socket | None:
        """The socket's record, its lease renewed; on first contact the credential is
        checked (the socket's user must own it) and its app key's session started."""
        channel = str(message["channel"])
        socket = self.sockets.get(channel)
        user, credential_id = int(message.get("user", 0) or 0), str(message.get("credential", ""))
        if socket is None or socket.credential != credential_id or socket.user != user:
            if socket is not None:
                await self._forget(channel)
            credential = await _load_credential(credential_id, user)
            if credential is None:
                await self.layer.send(
                    channel, {"type": "relay.error", "code": "no_credential", "symbol": ""}
                )
                return None
            socket = Socket(channel, user, credential_id, credential.app_key)
            self.sockets[channel] = socket
            try:
                await self._upstream_for(credential)
            except Exception as error:  # the secret cannot be opened, KIS down...
                log.warning("relay: cannot start a session: %s", type(error).__name__)
                await self.layer.send(
                    channel, {"type": "relay.error", "code": "no_credential", "symbol": ""}
                )
                del self.sockets[channel]
                return None
        socket.expires = time.monotonic() + self.lease_s
        return socket

    async def _forget(self, channel: str) -> None:
        socket = self.sockets.pop(channel, None)
        if socket is None:
            return
        for symbol in list(socket.interests):
            await self._release(socket, symbol, set(STREAMS))

    # ------------------------------------------------------------------ references

    async def _interest(
        self, socket: Socket, symbol: str, market: str, streams: set[str], *, reply: bool
    ) -> None:
        upstream = self.upstreams.get(socket.app_key)
        if upstream is None or upstream.session is None:
            return
        _, have = socket.interests.setdefault(symbol, (market, set()))
        mode = "live"
        snapshots: list[Holder] = []
        for stream in sorted(streams):
            have.add(stream)
            registration = registration_for(stream, symbol, market)
            holder = upstream.holders.get(registration)
            if holder is not None:
                holder.channels.add(socket.channel)
                timer = upstream.grace.pop(registration, None)
                if timer is not None:
                    timer.cancel()
                if holder.last_text:
                    snapshots.append(holder)
                continue
            delayed = upstream.delayed.get(symbol)
            if delayed is not None and stream in upstream.delayed_streams.get(symbol, set()):
                delayed.channels.add(socket.channel)
                mode = "delayed"
                continue
            if await self._subscribe(
                upstream, registration, Holder(symbol, market, stream, {socket.channel})
            ):
                continue
            mode = "delayed"
            holder = upstream.delayed.setdefault(symbol, Holder(symbol, market, "trade"))
            holder.channels.add(socket.channel)
            upstream.delayed_streams.setdefault(symbol, set()).add(stream)
        upstream.idle_since = None
        if reply:
            await self._answer(
                socket.channel,
                {
                    "type": "relay.subscribed",
                    "symbol": symbol,
                    "streams": ",".join(sorted(streams)),
                    "mode": mode,
                },
            )
        for holder in snapshots:
            with contextlib.suppress(ChannelFull):  # the next trade or book comes anyway
                await self._send_snapshot(upstream, socket.channel, holder)
        self._status_soon(upstream)

    async def _send_snapshot(self, upstream: Upstream, channel: str, holder: Holder) -> None:
        """The newest trade or book of a registration already live, to a socket that just
        joined it: its first price now, not at the next tick. Marked ``snapshot`` (the
        browser has it as a state, not a new trade for the tape)."""
        body = json.loads(holder.last_text)
        body["snapshot"] = True
        group = quote_group(upstream.app_key, holder.stream, holder.symbol)
        await self.layer.send(
            channel,
            {
                "type": "relay.frame",
                "group": group,
                "kind": holder.stream,
                "text": json.dumps(body, separators=(",", ":")),
            },
        )
        RELAY_FRAMES.labels(stream=holder.stream).inc()

    async def _subscribe(
        self, upstream: Upstream, registration: Registration, holder: Holder
    ) -> bool:
        """Register upstream; False when no slot is free (the caller falls back to delayed)."""
        assert upstream.session is not None
        if len(upstream.holders) >= upstream.quote_capacity:
            # A registration in its grace period has no viewer: it gives its slot first.
            idle = next(iter(upstream.grace), None)
            if idle is None:
                return False
            upstream.grace.pop(idle).cancel()
            await self._unsubscribe(upstream, idle)
        upstream.holders[registration] = holder
        try:
            await upstream.session.subscribe(*registration)
        except KisError as refusal:
            upstream.holders.pop(registration, None)
            upstream.last_error = f"{refusal.code} {refusal.message}"[:200]
            upstream.last_error_at = dt.datetime.now(dt.UTC)
            log.warning("relay: KIS refused %s %s: %s", *registration, refusal.code)
            return False
        upstream.subscribes.hit()
        return True

    async def _unsubscribe(self, upstream: Upstream, registration: Registration) -> None:
        upstream.holders.pop(registration, None)
        if upstream.session is not None:
            with contextlib.suppress(KisError):
                await upstream.session.unsubscribe(*registration)
            upstream.unsubscribes.hit()

    async def _release(self, socket: Socket, symbol: str, streams: set[str]) -> None:
        entry = socket.interests.get(symbol)
        if entry is None:
            return
        market, have = entry
        upstream = self.upstreams.get(socket.app_key)
        for stream in streams & have:
            have.discard(stream)
            if upstream is None:
                continue
            registration = registration_for(stream, symbol, market)
            holder = upstream.holders.get(registration)
            if holder is not None:
                holder.channels.discard(socket.channel)
                if not holder.channels and registration not in upstream.grace:
                    upstream.grace[registration] = asyncio.create_task(
                        self._expire(upstream, registration), name="relay-grace"
                    )
        delayed = upstream.delayed.get(symbol) if upstream is not None else None
        if delayed is not None and upstream is not None and not have:
            delayed.channels.discard(socket.channel)
            if not delayed.channels:
                upstream.delayed.pop(symbol, None)
                upstream.delayed_streams.pop(symbol, None)
        if not have:
            socket.interests.pop(symbol, None)
        if upstream is not None:
            self._status_soon(upstream)

    async def _expire(self, upstream: Upstream, registration: Registration) -> None:
        """The grace period: unsubscribe only if nobody came back meanwhile."""
        await asyncio.sleep(self.grace_s)
        if upstream.grace.get(registration) is not asyncio.current_task():
            return
        del upstream.grace[registration]
        holder = upstream.holders.get(registration)
        if holder is None or holder.channels:
            return
        await self._unsubscribe(upstream, registration)
        await self._promote(upstream)
        self._status_soon(upstream)

    async def _promote(self, upstream: Upstream) -> None:
        """A slot came free: the longest-waiting delayed symbol goes live."""
        while upstream.delayed and len(upstream.holders) < upstream.quote_capacity:
            symbol, holder = next(iter(upstream.delayed.items()))
            streams = upstream.delayed_streams.get(symbol, {"trade"})
            del upstream.delayed[symbol]
            upstream.delayed_streams.pop(symbol, None)
            live = True
            for stream in sorted(streams):
                registration = registration_for(stream, symbol, holder.market)
                live &= await self._subscribe(
                    upstream,
                    registration,
                    Holder(symbol, holder.market, stream, set(holder.channels)),
                )
            for channel in holder.channels:
                await self._answer(
                    channel,
                    {
                        "type": "relay.subscribed",
                        "symbol": symbol,
                        "streams": ",".join(sorted(streams)),
                        "mode": "live" if live else "delayed",
                    },
                )
            if not live:
                break

    # ------------------------------------------------------------------ upstream sessions

    async def _ensure_upstream(self, credential: Any) -> Upstream:
        app_key = credential.app_key
        lock = self._starting.setdefault(app_key, asyncio.Lock())
        async with lock:
            upstream = self.upstreams.get(app_key)
            if upstream is not None:
                upstream.owners[_account(credential.account_number)] = (
                    str(credential.pk),
                    credential.owner_id,
                )
                return upstream
            if self.leases is not None and await self.leases.hold_key(key_hash(app_key)) is None:
                raise KeyHeldElsewhere(key_hash(app_key))
            try:
                return await self._open_upstream(credential)
            except BaseException:
                if self.leases is not None:
                    await self.leases.release_key(key_hash(app_key))
                raise

    async def _open_upstream(self, credential: Any) -> Upstream:
        """The session of ``credential``'s app key, opened (the caller holds its lease)."""
        from accounts.kis import open_client

        app_key = credential.app_key
        overseas = bool(_setting("KISWEB_RELAY_OVERSEAS_NOTICES", True))
        notice_slots = (2 if overseas else 1) if credential.hts_id else 0
        upstream = Upstream(app_key, str(credential.pk), notice_slots)
        upstream.owners[_account(credential.account_number)] = (
            str(credential.pk),
            credential.owner_id,
        )
        upstream.client = await upstream.stack.enter_async_context(open_client(credential))
        session = RealtimeSession(upstream.client, **self.session_options)
        upstream.session = session
        events = session.events()
        await session.start()
        with contextlib.suppress(TimeoutError):
            # Usually a few ms; if KIS is slow, registrations go out on connect.
            await session.wait_open(float(_setting("KISWEB_RELAY_OPEN_WAIT_S", 2)))
        self.upstreams[app_key] = upstream
        upstream.tasks = [
            asyncio.create_task(self._pump(upstream, events), name="relay-pump"),
            asyncio.create_task(self._poll_delayed(upstream), name="relay-delayed"),
        ]
        if credential.hts_id:
            # The notice slots are reserved before any quote takes one (§6).
            with contextlib.suppress(KisError):
                await session.subscribe_notices(overseas=overseas)
        return upstream

    async def _upstream_for(self, credential: Any) -> Upstream:
        """``_ensure_upstream`` in a task of its own that a cancelled caller does not cut
        short: a session cut off half-open is registered nowhere, so nothing ever closed
        it (it went on reconnecting and writing approval keys after the hub had stopped).
        ``aclose`` waits for it, then closes it with the others."""
        opening = asyncio.create_task(self._ensure_upstream(credential), name="relay-open")
        self._opening.add(opening)
        opening.add_done_callback(self._opening.discard)
        return await asyncio.shield(opening)

    async def _close_upstream(self, upstream: Upstream) -> None:
        self.upstreams.pop(upstream.app_key, None)
        SNAPSHOTS.pop(key_hash(upstream.app_key), None)
        self._count_registrations()
        status = [upstream.status_soon] if upstream.status_soon is not None else []
        await _stop([*upstream.tasks, *upstream.grace.values(), *status])
        if upstream.session is not None:
            await upstream.session.aclose()
        with contextlib.suppress(Exception):
            await upstream.stack.aclose()
        if self.leases is not None:
            await self.leases.release_key(key_hash(upstream.app_key))

    async def _pump(self, upstream: Upstream, events: Any) -> None:
        """Every session event becomes one flat message to one group."""
        symbols: dict[Registration, str] = {}
        dropped = 0
        async for event in events:
            if events.dropped != dropped:  # this pump fell behind the session's feed
                RELAY_DROPS.labels(reason="upstream_feed").inc(events.dropped - dropped)
                dropped = events.dropped
            try:
                if isinstance(event, Trade | OrderBook):
                    if upstream.gap_from is not None:
                        await self._gap_closed(upstream)
                    upstream.last_frame_at = time.monotonic()
                    registration = (event.tr_id, event.key)
                    holder = upstream.holders.get(registration)
                    if holder is None:
                        continue
                    symbol = symbols.setdefault(registration, holder.symbol)
                    if isinstance(event, Trade):
                        currency = "KRW" if holder.market in _DOMESTIC_MARKETS else "USD"
                        text = trade_text(symbol, event, currency)
                        group = quote_group(upstream.app_key, "trade", symbol)
                        kind = "trade"
                    else:
                        text = book_text(symbol, event)
                        group = quote_group(upstream.app_key, "book", symbol)
                        kind = "book"
                    holder.last_text = text
                    await self.layer.group_send(
                        group, {"type": "relay.frame", "group": group, "kind": kind, "text": text}
                    )
                elif isinstance(event, ExecutionNotice):
                    await self._notice(upstream, event)
                elif isinstance(event, SessionState):
                    if event.state is ConnectionState.OPEN:
                        upstream.connects.hit()
                    elif event.state is ConnectionState.RECONNECTING:
                        if upstream.gap_from is None:
                            upstream.gap_from = upstream.last_frame_at or time.monotonic()
                        upstream.reconnect_days.append(dt.datetime.now(KST).date())
                        RELAY_RECONNECTS.inc()
                        if event.detail:
                            upstream.last_error = event.detail[:200]
                            upstream.last_error_at = dt.datetime.now(dt.UTC)
                    await self._publish_status(upstream)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("relay: an event could not be relayed")

    async def _gap_closed(self, upstream: Upstream) -> None:
        """The first quote after a drop: the gap it ended goes on the health strip."""
        assert upstream.gap_from is not None
        upstream.last_gap_s = round(time.monotonic() - upstream.gap_from, 1)
        upstream.gap_from = None
        await self._publish_status(upstream)

    async def _notice(self, upstream: Upstream, notice: ExecutionNotice) -> None:
        """Into the journal first (no tab needs to be open), then to the owner's sockets."""
        from trading.notices import apply_notice

        owner = upstream.owners.get(_account(notice.account_no))
        if owner is None:
            log.warning("relay: a notice for an account this session does not serve")
            return
        credential_id, owner_id = owner
        result = await sync_to_async(apply_notice)(credential_id, notice)
        if result.order_id is None and notice_kind(notice) in ("accept", "fill"):
            # The order's HTTP answer (with its number) may land just after the notice.
            await asyncio.sleep(0.5)
            result = await sync_to_async(apply_notice)(credential_id, notice)
        await self.layer.group_send(
            user_group(owner_id),
            {
                "type": "relay.notice",
                "symbol": notice.symbol,
                "name": result.name or notice.symbol_name or notice.symbol,
                "side": notice.side.value if hasattr(notice.side, "value") else str(notice.side),
                "quantity": str(notice.quantity),
                "price": str(notice.price),
                "kind": notice_kind(notice),
                "order_id": result.order_id or "",
                "currency": "KRW" if notice.tr_id.startswith("H0ST") else "USD",
            },
        )

    async def _poll_delayed(self, upstream: Upstream) -> None:
        """Symbols past the cap get a REST quote, one call per ``delayed_poll_s``, in turn,
        through the client's rate limiter; the browser labels them "delayed" with the age."""
        turn = 0
        while True:
            await asyncio.sleep(self.delayed_poll_s)
            symbols = list(upstream.delayed.items())
            if not symbols:
                continue
            symbol, holder = symbols[turn % len(symbols)]
            turn += 1
            try:
                text = await _delayed_text(upstream.client, symbol, holder.market)
            except KisError as error:
                upstream.last_error = f"{error.code} {error.message}"[:200]
                upstream.last_error_at = dt.datetime.now(dt.UTC)
                continue
            except Exception:
                log.exception("relay: a delayed quote failed")
                continue
            group = quote_group(upstream.app_key, "trade", symbol)
            await self.layer.group_send(
                group, {"type": "relay.frame", "group": group, "kind": "delayed", "text": text}
            )

    # ------------------------------------------------------------------ status

    def _status(self, upstream: Upstream) -> str:
        status = upstream.status()
        SNAPSHOTS[key_hash(upstream.app_key)] = status
        return json.dumps(status, separators=(",", ":"))

    def _count_registrations(self) -> None:
        RELAY_REGISTRATIONS.set(
            sum(len(u.session.registrations) for u in self.upstreams.values() if u.session)
        )

    async def _publish_status(self, upstream: Upstream) -> None:
        self._count_registrations()
        await self.layer.group_send(
            status_group(upstream.app_key), {"type": "relay.status", "text": self._status(upstream)}
        )

    def _status_soon(self, upstream: Upstream) -> None:
        """A status for the app key's sockets within ``STATUS_EVERY_S``, coalesced: one
        status to every socket per subscribe filled their channels when many tabs
        subscribed at once (the fan-out soak). It is built when sent, so the newest state
        is the one that arrives."""
        self._count_registrations()
        if upstream.status_soon is None or upstream.status_soon.done():
            upstream.status_soon = asyncio.create_task(
                self._status_later(upstream), name="relay-status"
            )

    async def _status_later(self, upstream: Upstream) -> None:
        await asyncio.sleep(STATUS_EVERY_S)
        upstream.status_soon = None  # a change from here on asks for a status of its own
        try:
            await self._publish_status(upstream)
        except Exception as error:  # Redis away: the sweep publishes again
            log.warning("relay: a status was not sent: %s", type(error).__name__)

    async def _answer(self, channel: str, message: dict[str, Any]) -> None:
        """A socket's own answer (``relay.subscribed``): when its channel is full it is
        sent again, from a task of its own, until there is room or ``REPLY_RETRY_S``."""
        try:
            await self.layer.send(channel, message)
        except ChannelFull:
            retry = asyncio.create_task(self._answer_later(channel, message), name="relay-reply")
            self._replies.add(retry)
            retry.add_done_callback(self._replies.discard)

    async def _answer_later(self, channel: str, message: dict[str, Any]) -> None:
        deadline = time.monotonic() + REPLY_RETRY_S
        pause = 0.05
        while time.monotonic() < deadline:
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)
            if channel not in self.sockets:
                return
            try:
                await self.layer.send(channel, message)
                return
            except ChannelFull:
                continue
        log.warning("relay: an answer to a socket found its channel full for %g s", REPLY_RETRY_S)

    # ------------------------------------------------------------------ housekeeping

    async def _sweep(self) -> None:
        """Expired leases are released; sessions nobody needs are closed after a grace."""
        period = max(0.2, min(self.lease_s, self.grace_s) / 4)
        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            for channel, socket in list(self.sockets.items()):
                if socket.expires < now:
                    log.info("relay: a socket's lease lapsed")
                    await self._forget(channel)
            for upstream in list(self.upstreams.values()):
                in_use = (
                    upstream.orders_open
                    or upstream.holders
                    or upstream.delayed
                    or any(s.app_key == upstream.app_key for s in self.sockets.values())
                )
                if in_use:
                    upstream.idle_since = None
                elif upstream.idle_since is None:
                    upstream.idle_since = now
                elif now - upstream.idle_since > self.grace_s:
                    await self._close_upstream(upstream)
                else:
                    self._status_soon(upstream)

    async def _beat(self) -> None:
        """Tell ``/readyz`` this relay is alive (kisweb/ops/heartbeat.py); a failed write
        is logged there and tried again next round."""
        instance = f"{platform.node()}:{os.getpid()}"
        while True:
            await abeat("relay", instance)
            await asyncio.sleep(HEARTBEAT_EVERY_S)

    async def _scan_orders(self) -> None:
        """Hold the notice subscription of every credential with open orders, tab or not."""
        while True:
            try:
                credentials = await sync_to_async(_credentials_with_open_orders)()
                open_keys = set()
                for credential in credentials:
                    open_keys.add(credential.app_key)
                    try:
                        await self._upstream_for(credential)
                    except Exception as error:
                        log.warning("relay: cannot start a session: %s", type(error).__name__)
                for upstream in self.upstreams.values():
                    upstream.orders_open = upstream.app_key in open_keys
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database is away: try again next round
                log.warning("relay: the open-orders scan failed: %s", type(error).__name__)
            await asyncio.sleep(self.orders_scan_s * random.uniform(0.9, 1.1))


# ---------------------------------------------------------------------------- database


def _load_credential_sync(credential_id: str, user: int) -> Any:
    from accounts.models import Credential

    try:
        return Credential.objects.enabled().get(pk=credential_id, owner_id=user)
    except (Credential.DoesNotExist, ValueError, Exception):
        return None


async def _load_credential(credential_id: str, user: int) -> Any:
    if not credential_id or not user:
        return None
    return await sync_to_async(_load_credential_sync)(credential_id, user)


def _credentials_with_open_orders() -> list[Any]:
    from accounts.models import Credential
    from trading.models import Order

    open_statuses = (Order.Status.ACCEPTED, Order.Status.PARTIALLY_FILLED, Order.Status.UNKNOWN)
    ids = set(
        Order.objects.filter(status__in=open_statuses).values_list("credential_id", flat=True)
    )
    return list(Credential.objects.enabled().filter(pk__in=ids).exclude(hts_id=""))


async def _delayed_text(client: Any, symbol: str, market: str) -> str:
    fetched = time.monotonic()
    if market in _DOMESTIC_MARKETS:
        q = await client.quote(symbol)
        fields = {
            "price": str(q.price),
            "change": str(q.change),
            "sign": _sign(q.change),
            "rate": str(q.change_rate),
            "volume": "0",
            "cum_volume": str(q.volume),
            "open": str(q.open),
            "high": str(q.high),
            "low": str(q.low),
            "currency": "KRW",
        }
    else:
        u = await client.us_quote(symbol, _US_EXCHANGES.get(market, UsExchange.NASDAQ))
        fields = {
            "price": str(u.price),
            "change": str(u.change),
            "sign": _sign(u.change),
            "rate": str(u.change_rate),
            "volume": "0",
            "cum_volume": str(u.volume),
            "open": "",
            "high": "",
            "low": "",
            "currency": "USD",
        }
    return json.dumps(
        {
            "type": "delayed",
            "symbol": symbol,
            **fields,
            "time": dt.datetime.now(KST).strftime("%H%M%S"),
            "age_s": int(time.monotonic() - fetched),
        },
        separators=(",", ":"),
    )


# ---------------------------------------------------------------------------- in-process


_local: dict[str, Any] = {}


def ensure_local_hub() -> None:
    """Start the hub on the running loop once, when this process is the relay (demo: the
    in-memory layer only reaches this process). ``runrelay`` is the other way."""
    if not _setting("KISWEB_RELAY_IN_PROCESS", True):
        return
    loop = asyncio.get_running_loop()
    task = _local.get("task")
    if task is not None and not task.done() and _local.get("loop") is loop:
        return
    hub = Hub()
    _local.update(hub=hub, loop=loop, task=loop.create_task(hub.run(), name="relay-hub"))


def local_hub() -> Hub | None:
    hub = _local.get("hub")
    return hub if isinstance(hub, Hub) else None


def start_local_hub_on_first_call(app: Any) -> Any:
    """ASGI wrapper: the first request of any kind starts the in-process hub, so notices
    reach the journal in demo even before anyone opens a market page."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope.get("type") in ("http", "websocket"):
            ensure_local_hub()
        return await app(scope, receive, send)

    return wrapped
