"""``RealtimeSession``: the one WebSocket per app key (docs/kis-protocol.md §7).

It keeps the set of wanted registrations, not just the live ones, so that after any drop
it reconnects (backoff with jitter), takes a fresh approval key if the old one is refused,
re-sends every registration and takes the notice key/iv from the new acks (§7.5). Control
requests go one at a time and each waits for its JSON ack; PINGPONG is echoed (§7.2).
Library pings are off, as in the official client; a connection silent for longer than
``idle_timeout_s`` (no data, no PINGPONG) is treated as dead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import deque
from datetime import datetime
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from ..client import KisClient
from ..credentials import Environment
from ..errors import KisError, RealtimeError, SessionClosed, SubscriptionLimitReached
from ..tokens import Token, utc_now
from .events import ConnectionState, Event, ExecutionNotice, SessionState
from .frames import NOTICE_TRS, FrameParser, MalformedFrame

log = logging.getLogger(__name__)

MAX_REGISTRATIONS = 41  # per session, notices included (docs/kis-protocol.md §6)

# OPSP answers (§7.6) that mean "already in the state you asked for".
_ALREADY_SUBSCRIBED = "OPSP0002"
_NOT_SUBSCRIBED = "OPSP0003"
_MAX_SUBSCRIBE_OVER = "OPSP0008"
_APPROVAL_REFUSED = frozenset({"OPSP0010", "OPSP0011"})
_IN_USE = "OPSP8996"  # the server still holds our previous session (§7.5)
_SUBSCRIBE, _UNSUBSCRIBE = "1", "2"

Registration = tuple[str, str]  # (tr_id, tr_key)


class _Reconnect(Exception):
    """Leave the current connection and start over (with a fresh approval key if asked)."""


class _Feed:
    """One consumer's queue. Market data (trades, books) is bounded: when the consumer is
    ``limit`` market events behind, the **oldest** one is dropped (and counted), so a slow
    UI catches up on the newest quotes instead of a backlog of stale ones, and memory
    stays bounded. Execution notices, state changes and the end marker are never dropped
    (a lost fill is a wrong position); they are rare, so keeping them all costs little."""

    def __init__(self, limit: int) -> None:
        self._items: deque[Event | None] = deque()
        self._ready = asyncio.Event()
        self._limit = max(1, limit)
        self._market = 0  # market events in _items
        self.dropped = 0

    def put(self, event: Event | None) -> None:
        if _is_market(event):
            if self._market >= self._limit:
                self._drop_oldest_market()
            self._market += 1
        self._items.append(event)
        self._ready.set()

    def _drop_oldest_market(self) -> None:
        items = self._items
        if _is_market(items[0]):  # the usual case: O(1)
            items.popleft()
        else:  # notices or states wait at the head: skip them, keep their order
            for index, item in enumerate(items):
                if _is_market(item):
                    del items[index]
                    break
        self._market -= 1
        self.dropped += 1

    async def get(self) -> Event | None:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        event = self._items.popleft()
        if _is_market(event):
            self._market -= 1
        return event


def _is_market(event: Event | None) -> bool:
    return event is not None and not isinstance(event, ExecutionNotice | SessionState)


class EventStream:
    """``async for event in session.events()``; ``aclose()`` stops listening early."""

    def __init__(self, feed: _Feed, feeds: set[_Feed]) -> None:
        self._feed = feed
        self._feeds = feeds

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        event = await self._feed.get()
        if event is None:
            self.aclose()
            raise StopAsyncIteration
        return event

    def aclose(self) -> None:
        self._feeds.discard(self._feed)

    @property
    def dropped(self) -> int:
        """Market-data events dropped (oldest first) because this consumer fell behind."""
        return self._feed.dropped


class RealtimeSession:
    """Realtime quotes and execution notices for one credential.

    ``await session.start()`` connects in the background; ``subscribe(tr_id, key)``
    registers (waiting for the ack when connected, else on the next connect) and refuses
    the registration beyond ``max_registrations`` itself; ``async for event in
    session.events()`` yields ``Trade``, ``OrderBook``, ``ExecutionNotice`` and
    ``SessionState``. ``health`` is the current ``SessionState``.
    """

    def __init__(
        self,
        client: KisClient,
        *,
        max_registrations: int = MAX_REGISTRATIONS,
        ack_timeout_s: float = 10.0,
        open_timeout_s: float = 10.0,
        idle_timeout_s: float = 180.0,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 30.0,
        feed_limit: int = 10_000,
    ) -> None:
        self._client = client
        self._max = max_registrations
        self._ack_timeout_s = ack_timeout_s
        self._open_timeout_s = open_timeout_s
        self._idle_timeout_s = idle_timeout_s
        self._reconnect_min_s = reconnect_min_s
        self._reconnect_max_s = reconnect_max_s
        self._feed_limit = feed_limit
        self._parser = FrameParser()
        self._wanted: dict[Registration, None] = {}  # insertion-ordered set
        self._live: set[Registration] = set()
        self._control = asyncio.Lock()
        self._pending: tuple[Registration, asyncio.Future[dict[str, Any]]] | None = None
        self._feeds: set[_Feed] = set()
        self._ws: ClientConnection | None = None
        self._approval: Token | None = None
        self._runner: asyncio.Task[None] | None = None
        self._opened = asyncio.Event()
        self._state = ConnectionState.CLOSED
        self._detail = ""
        self._last_pingpong_at: datetime | None = None
        self._reconnects = 0
        self._opened_at: float | None = None
        self._closing = False

    # ------------------------------------------------------------------ public

    @property
    def health(self) -> SessionState:
        return SessionState(
            state=self._state,
            registrations_used=len(self._wanted),
            registrations_max=self._max,
            last_pingpong_at=self._last_pingpong_at,
            reconnects=self._reconnects,
            detail=self._detail,
        )

    @property
    def registrations(self) -> tuple[Registration, ...]:
        return tuple(self._wanted)

    async def start(self) -> None:
        if self._runner is None:
            self._closing = False
            self._set_state(ConnectionState.CONNECTING)
            self._runner = asyncio.create_task(self._run(), name="kis-realtime")

    async def wait_open(self, timeout_s: float) -> None:
        """Wait until the session is open with every registration re-sent."""
        await asyncio.wait_for(self._opened.wait(), timeout_s)

    async def subscribe(self, tr_id: str, key: str) -> None:
        """Register (tr_id, key). Raises ``SubscriptionLimitReached`` beyond the cap and
        ``RealtimeError`` when KIS refuses; a no-op if already registered."""
        registration = (tr_id, key)
        if self._closing:
            raise SessionClosed("CLOSED", "the realtime session is closed")
        if registration in self._wanted:
            return
        if len(self._wanted) >= self._max:
            raise SubscriptionLimitReached(
                _MAX_SUBSCRIBE_OVER,
                f"MAX SUBSCRIBE OVER: {self._max} registrations per session are in use",
            )
        self._wanted[registration] = None
        async with self._control:
            if self._state is ConnectionState.OPEN and self._ws is not None:
                try:
                    await self._register(self._ws, registration)
                except RealtimeError:
                    self._wanted.pop(registration, None)
                    raise
                except _Reconnect:
                    # The connection is being replaced and the next one registers it,
                    # unless aclose() ended the wait: then nothing will, so say so.
                    if self._closing:
                        self._wanted.pop(registration, None)
                        raise SessionClosed("CLOSED", "the realtime session is closed") from None

    async def unsubscribe(self, tr_id: str, key: str) -> None:
        registration = (tr_id, key)
        if self._wanted.pop(registration, None) is None and registration not in self._live:
            return
        async with self._control:
            if registration in self._live and self._ws is not None:
                with contextlib.suppress(_Reconnect):  # a new connection won't register it
                    await self._request(self._ws, registration, _UNSUBSCRIBE)
            self._live.discard(registration)

    async def subscribe_notices(self, *, overseas: bool = False) -> None:
        """Register this credential's execution notices (tr_key = HTS ID, §7.1)."""
        creds = self._client.creds
        if not creds.hts_id:
            raise ValueError("execution notices need the credential's HTS ID")
        real = creds.env is Environment.REAL
        await self.subscribe("H0STCNI0" if real else "H0STCNI9", creds.hts_id)
        if overseas:
            await self.subscribe("H0GSCNI0" if real else "H0GSCNI9", creds.hts_id)

    def events(self) -> EventStream:
        """Every event from this call on until ``aclose()``, in order. Each call gets its
        own queue, registered at once (before the first ``__anext__``)."""
        feed = _Feed(self._feed_limit)
        self._feeds.add(feed)
        return EventStream(feed, self._feeds)

    async def aclose(self) -> None:
        self._closing = True
        runner, self._runner = self._runner, None
        try:
            if runner is not None:
                runner.cancel()
                try:
                    await runner
                except asyncio.CancelledError:
                    # The runner's own end is expected; a cancel of the caller is not ours
                    # to swallow (its loop would go on, and whoever waits for it would hang).
                    current = asyncio.current_task()
                    if current is not None and current.cancelling():
                        raise
        finally:
            self._set_state(ConnectionState.CLOSED)
            for feed in list(self._feeds):
                feed.put(None)

    # ------------------------------------------------------------------ connection loop

    async def _run(self) -> None:
        """Connect, serve, and after any end of the connection wait and start over.

        Nothing but ``cancel()`` (``aclose()``) ends this loop: an unexpected error is
        logged and treated as one more drop, so the session never dies silently.
        The delay doubles after every connection (jittered into [d/2, d], capped at
        ``reconnect_max_s``) and starts over only after a connection that stayed open for
        ``reconnect_max_s``: a server that acks every registration and drops at once is
        not reconnected to at the minimum delay forever.
        """
        delay = self._reconnect_min_s
        while True:
            self._opened_at = None
            try:
                await self._connect_and_serve()
            except asyncio.CancelledError:
                raise
            except (
                _Reconnect,
                OSError,
                TimeoutError,
                KisError,
                websockets.WebSocketException,
            ) as exc:
                self._detail = _reason(exc)
                log.warning("KIS realtime session lost: %s", self._detail)
            except Exception as exc:
                self._detail = _reason(exc)
                log.exception("KIS realtime session failed unexpectedly; reconnecting")
            else:
                self._detail = "connection closed"
            finally:
                self._ws = None
                self._live.clear()
                self._opened.clear()
                self._fail_pending()
            opened_at = self._opened_at
            if opened_at is not None and time.monotonic() - opened_at >= self._reconnect_max_s:
                delay = self._reconnect_min_s  # it worked for a while: start over gently
            self._reconnects += 1
            self._set_state(ConnectionState.RECONNECTING)
            await asyncio.sleep(random.uniform(delay / 2, delay))
            delay = min(delay * 2, self._reconnect_max_s)

    async def _connect_and_serve(self) -> None:
        self._approval = await self._client.ensure_approval_key()
        async with websockets.connect(
            self._client.ws_url,
            ping_interval=None,  # KIS speaks PINGPONG instead (§7.1, §7.2)
            open_timeout=self._open_timeout_s,
            close_timeout=1,
            max_size=2**20,
        ) as ws:
            self._ws = ws
            self._parser.forget_notice_keys()
            reader = asyncio.create_task(self._read(ws), name="kis-realtime-reader")
            try:
                async with self._control:
                    for registration in list(self._wanted):
                        if registration in self._wanted:
                            await self._resubscribe(ws, registration)
                    self._set_state(ConnectionState.OPEN)
                    self._opened_at = time.monotonic()
                    self._opened.set()
                await reader
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reader

    async def _resubscribe(self, ws: ClientConnection, registration: Registration) -> None:
        try:
            await self._register(ws, registration)
        except SubscriptionLimitReached:
            raise
        except RealtimeError as refusal:
            # KIS refuses this one (e.g. a bad key): keep the others, tell the consumer.
            self._wanted.pop(registration, None)
            log.warning("KIS refused re-registering %s %s: %s", *registration, refusal)

    async def _register(self, ws: ClientConnection, registration: Registration) -> None:
        await self._request(ws, registration, _SUBSCRIBE)
        self._live.add(registration)

    async def _request(
        self, ws: ClientConnection, registration: Registration, tr_type: str
    ) -> None:
        """Send one control message and wait for its ack (§7.1, §7.2)."""
        tr_id, key = registration
        assert self._approval is not None
        message = {
            "header": {
                "approval_key": self._approval.value,
                "custtype": "P",
                "tr_type": tr_type,
                "content-type": "utf-8",
            },
            "body": {"input": {"tr_id": tr_id, "tr_key": key}},
        }
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending = (registration, answer)
        try:
            await ws.send(json.dumps(message))
            try:
                ack = await asyncio.wait_for(answer, self._ack_timeout_s)
            except TimeoutError:
                await ws.close()
                raise _Reconnect(f"no answer to {tr_id} registration") from None
        finally:
            self._pending = None
        body = ack.get("body")
        if not isinstance(body, dict):
            body = {}
        code = str(body.get("msg_cd", ""))
        message_text = str(body.get("msg1", ""))
        if str(body.get("rt_cd", "")) == "0" or code in (_ALREADY_SUBSCRIBED, _NOT_SUBSCRIBED):
            output = body.get("output")
            if tr_type == _SUBSCRIBE and tr_id in NOTICE_TRS and code != _ALREADY_SUBSCRIBED:
                if not isinstance(output, dict) or not output.get("key") or not output.get("iv"):
                    # Notices cannot be read without this ack's key/iv (§7.2, §7.4).
                    raise RealtimeError(code, f"{tr_id} ack without a key/iv")
                self._parser.set_notice_key(tr_id, str(output["key"]), str(output["iv"]))
            return
        if code in _APPROVAL_REFUSED:
            self._client.invalidate_approval_key(self._approval)
            await ws.close()
            raise _Reconnect(f"approval key refused ({code})")
        if code == _IN_USE:
            await ws.close()
            raise _Reconnect(f"{code} {message_text}")
        if code == _MAX_SUBSCRIBE_OVER:
            raise SubscriptionLimitReached(code, message_text)
        raise RealtimeError(code, message_text)

    def _fail_pending(self) -> None:
        if self._pending is not None and not self._pending[1].done():
            self._pending[1].set_exception(_Reconnect("connection lost while waiting for an ack"))

    # ------------------------------------------------------------------ reading

    async def _read(self, ws: ClientConnection) -> None:
        while True:
            try:
                message = await asyncio.wait_for(ws.recv(), self._idle_timeout_s)
            except TimeoutError:
                await ws.close()
                raise _Reconnect(f"nothing heard for {self._idle_timeout_s:g} s") from None
            if isinstance(message, bytes):
                message = message.decode("utf-8", "replace")
            if message[:1] in ("0", "1"):
                self._on_data(message)
            else:
                await self._on_control(ws, message)

    def _on_data(self, frame: str) -> None:
        try:
            events = self._parser.parse(frame)
        except MalformedFrame as exc:
            log.warning("dropped a malformed realtime frame: %s", exc)
            return
        for event in events:
            if isinstance(event, ExecutionNotice) and not self._registered_notice(event):
                # Decrypted with our key but naming another HTS ID: never this owner's.
                log.warning("dropped a %s notice for an HTS ID this session did not register",
                            event.tr_id)  # fmt: skip
                continue
            for feed in self._feeds:
                feed.put(event)

    def _registered_notice(self, notice: ExecutionNotice) -> bool:
        """The notice names an HTS ID registered for its TR (tr_key = the HTS ID, §7.1);
        KIS's logins ignore case, and a padded field is the same ID."""
        hts_id = notice.hts_id.strip().casefold()
        return any(
            tr_id == notice.tr_id and key.strip().casefold() == hts_id
            for tr_id, key in (*self._wanted, *self._live)
        )

    async def _on_control(self, ws: ClientConnection, text: str) -> None:
        try:
            message = json.loads(text)
            header = message["header"]
        except (ValueError, TypeError, KeyError, RecursionError):  # deeper than the stack
            header = None
        if not isinstance(header, dict):
            # Not the §7.2 shape ({"header": {...}, "body": {...}}): drop it, as a
            # malformed data frame is dropped; it must never end the session.
            log.warning("dropped an unreadable realtime control message")
            return
        if header.get("tr_id") == "PINGPONG":
            await ws.send(text)  # echo it back, as python-kis and mojito do (§7.2)
            self._last_pingpong_at = utc_now()
            return
        pending = self._pending
        if pending is None or pending[1].done():
            log.info("unexpected realtime control message for %s", header.get("tr_id"))
            return
        (tr_id, _key), answer = pending
        if header.get("tr_id") in (tr_id, "", None):
            answer.set_result(message)

    # ------------------------------------------------------------------ state

    def _set_state(self, state: ConnectionState) -> None:
        if state is self._state:
            return
        self._state = state
        snapshot = self.health
        for feed in self._feeds:
            feed.put(snapshot)


def _reason(exc: BaseException) -> str:
    """Why a connection ended, without anything secret (messages are ours or KIS's)."""
    if isinstance(exc, KisError | _Reconnect):
        return str(exc)
    return type(exc).__name__
