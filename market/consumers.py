"""``/ws/market/``: one browser WebSocket per tab (the market stream contract, docs/design.md).

The consumer validates every browser message (an ``error`` message for anything wrong;
the socket stays open and nothing reaches the hub), joins the groups its subscriptions
need, and tells the hub what it watches with small flat messages. It never talks to KIS.
Outgoing messages pass one bounded queue per socket: when the browser falls behind, the
oldest quotes are dropped (counted in ``dropped``), never a notice, status or answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import time
from collections import deque
from collections.abc import Awaitable
from decimal import Decimal, InvalidOperation
from typing import Any

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer  # type: ignore[import-untyped]  # channels ships no type information
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import parse_accept_lang_header

from kisweb.ops.metrics import RELAY_DROPS, RELAY_SOCKETS
from market import hub
from market.fanout import local_fanout

log = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
RETRY_FIRST_S, RETRY_MAX_S = 1.0, 10.0  # a refused subscription is asked again after these
_SYMBOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]{0,15}$")
_QUOTES = frozenset({"trade", "book", "delayed"})
_HUB_HANDLERS = {
    "relay.frame": "relay_frame",
    "relay.status": "relay_status",
    "relay.subscribed": "relay_subscribed",
    "relay.error": "relay_error",
    "relay.notice": "relay_notice",
    "relay.hello": "relay_hello",
}


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def _language(scope: dict[str, Any]) -> str:
    """The page's language: the language cookie, else Accept-Language, else the default."""
    supported = {code for code, _name in settings.LANGUAGES}
    cookie = scope.get("cookies", {}).get(settings.LANGUAGE_COOKIE_NAME, "")
    if cookie in supported:
        return str(cookie)
    headers = dict(scope.get("headers") or [])
    accept = headers.get(b"accept-language", b"").decode("latin-1")
    for lang, _q in parse_accept_lang_header(accept):
        base = lang.split("-")[0].lower()
        if base in supported:
            return base
    return str(settings.LANGUAGE_CODE)


def _selected_credential(user_id: int) -> Any:
    from accounts.models import Credential

    rows = Credential.objects.filter(owner_id=user_id).enabled()
    return rows.filter(is_selected=True).first() or rows.order_by("created_at").first()


def _symbol_market(code: str) -> str | None:
    from market.models import Symbol

    row = Symbol.objects.filter(code=code).values_list("market", flat=True).first()
    return str(row) if row else None


def _money(price: str, currency: str) -> str:
    try:
        value = Decimal(price)
    except InvalidOperation:
        return price
    if currency == "KRW":
        return _("%(amount)s KRW") % {"amount": f"{value:,.0f}"}
    return _("%(amount)s USD") % {"amount": f"{value:,.2f}"}


def notice_sentence(message: dict[str, Any]) -> str:
    """The toast: "삼성전자 10주 매수 체결 71,000원" / "Buy 10 삼성전자: filled at 71,000 KRW"."""
    kinds = {
        "fill": _("filled"),
        "accept": _("accepted"),
        "reject": _("rejected"),
        "cancel": _("cancelled"),
        "revise": _("revised"),
    }
    return _("%(side)s %(quantity)s %(name)s: %(kind)s at %(price)s") % {
        "side": _("Buy") if message.get("side") == "buy" else _("Sell"),
        "quantity": message.get("quantity", ""),
        "name": message.get("name", ""),
        "kind": kinds.get(str(message.get("kind")), str(message.get("kind"))),
        "price": _money(str(message.get("price", "")), str(message.get("currency", "KRW"))),
    }


def error_sentence(code: str) -> str:
    texts = {
        "bad_json": _("The message was not valid JSON; nothing was changed."),
        "bad_message": _(
            "The message was not understood: send subscribe or unsubscribe with a symbol "
            "and streams (trade, book)."
        ),
        "unknown_symbol": _("There is no such symbol; check the code and try again."),
        "too_many_symbols": _(
            "This tab watches too many symbols; close some quotes before adding more."
        ),
        "rate_limited": _("Too many messages a second; wait a moment and try again."),
        "no_credential": _(
            "No usable KIS credential is selected; add or select one under Credentials."
        ),
        "busy": _("The quote service is busy; this quote will start in a few seconds by itself."),
    }
    return texts.get(code, texts["bad_message"])


class MarketConsumer(AsyncWebsocketConsumer):
    """The browser side of the relay."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.ready = False
        if user is None or not user.is_authenticated:
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user_id = int(user.pk)
        self.language = _language(self.scope)
        self.interests: dict[str, tuple[str, set[str]]] = {}
        self.groups_joined: set[str] = set()
        self.quote_groups: set[str] = set()  # joined through this process's fan-out
        self.queue: deque[tuple[bool, str]] = deque()
        self.quotes_queued = 0
        self.dropped = 0
        self.queue_limit = int(_setting("KISWEB_RELAY_SOCKET_QUEUE", 200))
        self.max_symbols = int(_setting("KISWEB_RELAY_MAX_SYMBOLS", 60))
        self.max_rate = int(_setting("KISWEB_RELAY_MAX_MESSAGES_PER_S", 20))
        # A token bucket: a (re)opening tab sends one subscribe per wanted symbol at once
        # (stream.js), so the burst allows a full page of symbols; the rate is per second.
        self.burst = float(self.max_symbols + self.max_rate)
        self.allowance = self.burst
        self.allowance_at = time.monotonic()
        self.wakeup = asyncio.Event()
        self.refused: set[str] = set()  # symbols the layer refused, asked again soon
        self.retrying: asyncio.Task[None] | None = None
        self.tasks: list[asyncio.Task[None]] = []
        await self.accept()
        RELAY_SOCKETS.inc()
        self.counted = True
        credential = await sync_to_async(_selected_credential)(self.user_id)
        self.credential_id = str(credential.pk) if credential else ""
        self.app_key = credential.app_key if credential else ""
        await self._join(hub.user_group(self.user_id))
        self.tasks.append(asyncio.create_task(self._writer()))
        if credential is None:
            self._error("no_credential")
            self.ready = True
            return
        await self._join(hub.status_group(self.app_key))
        await self._join(hub.HELLO_GROUP)
        hub.ensure_local_hub()
        await self._tell_hub("relay.renew", interests="")
        self.tasks.append(asyncio.create_task(self._renew()))
        self.ready = True

    async def disconnect(self, code: int) -> None:
        if not getattr(self, "ready", False) and not hasattr(self, "tasks"):
            return
        for task in [*getattr(self, "tasks", []), getattr(self, "retrying", None)]:
            if task is not None:
                task.cancel()
        if getattr(self, "counted", False):
            self.counted = False
            RELAY_SOCKETS.dec()
        if getattr(self, "credential_id", ""):
            with contextlib.suppress(Exception):
                await self.channel_layer.send(
                    hub.hub_channel(), {"type": "relay.bye", "channel": self.channel_name}
                )
        for group in getattr(self, "groups_joined", set()):
            await self._layer_call(self.channel_layer.group_discard(group, self.channel_name))
        for group in getattr(self, "quote_groups", set()):
            await self._layer_call(local_fanout(self.channel_layer).leave(group, self))

    # ------------------------------------------------------------------ browser -> server

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not getattr(self, "ready", False):
            return
        if not self._within_rate():
            self._error("rate_limited")
            return
        if text_data is None or len(text_data) > 2048:
            self._error("bad_message")
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            self._error("bad_json")
            return
        parsed = _parse(message)
        if parsed is None:
            self._error("bad_message", message.get("symbol") if isinstance(message, dict) else "")
            return
        kind, symbol, streams = parsed
        if not self.credential_id:
            self._error("no_credential", symbol)
            return
        if kind == "subscribe":
            await self._subscribe(symbol, streams)
        else:
            await self._unsubscribe(symbol, streams)

    def _within_rate(self) -> bool:
        now = time.monotonic()
        self.allowance = min(self.burst, self.allowance + (now - self.allowance_at) * self.max_rate)
        self.allowance_at = now
        if self.allowance < 1.0:
            return False
        self.allowance -= 1.0
        return True

    async def _subscribe(self, symbol: str, streams: set[str]) -> None:
        entry = self.interests.get(symbol)
        if entry is None:
            if len(self.interests) >= self.max_symbols:
                self._error("too_many_symbols", symbol)
                return
            market = await sync_to_async(_symbol_market)(symbol)
            if market is None:
                self._error("unknown_symbol", symbol)
                return
            entry = self.interests[symbol] = (market, set())
        market, have = entry
        have |= streams
        if not await self._join_and_tell(symbol, market, streams):
            # Kept, and asked again soon (_retry_refused); the renewal would too, later.
            self._error("busy", symbol)
            self.refused.add(symbol)
            if self.retrying is None or self.retrying.done():
                self.retrying = asyncio.create_task(self._retry_refused())

    async def _join_and_tell(self, symbol: str, market: str, streams: set[str]) -> bool:
        """Join the quote groups and tell the hub; False when the layer refused either."""
        joined = True
        for stream in streams:
            group = hub.quote_group(self.app_key, stream, symbol)
            if group not in self.quote_groups:
                self.quote_groups.add(group)
                joined &= await self._layer_call(local_fanout(self.channel_layer).join(group, self))
        told = await self._tell_hub(
            "relay.interest", symbol=symbol, market=market, streams=",".join(sorted(streams))
        )
        return joined and told

    async def _retry_refused(self) -> None:
        """Subscriptions the layer refused (a hub fallen behind: its channel full when many
        tabs open at once) are asked again after a jittered pause that doubles while it
        still refuses, so a herd of reopening tabs spreads out; the hub answers each."""
        pause = RETRY_FIRST_S
        while self.refused:
            await asyncio.sleep(pause * random.uniform(0.5, 1.5))
            for symbol in sorted(self.refused):
                entry = self.interests.get(symbol)
                if entry is not None:
                    market, streams = entry
                    self.quote_groups -= {
                        hub.quote_group(self.app_key, stream, symbol) for stream in streams
                    }
                    if not await self._join_and_tell(symbol, market, set(streams)):
                        break
                self.refused.discard(symbol)
            pause = min(pause * 2, RETRY_MAX_S)

    async def _unsubscribe(self, symbol: str, streams: set[str]) -> None:
        entry = self.interests.get(symbol)
        if entry is None:
            return
        market, have = entry
        gone = have & streams
        have -= gone
        for stream in gone:
            group = hub.quote_group(self.app_key, stream, symbol)
            self.quote_groups.discard(group)
            await self._layer_call(local_fanout(self.channel_layer).leave(group, self))
        if not have:
            del self.interests[symbol]
        if gone:
            await self._tell_hub(
                "relay.release", symbol=symbol, market=market, streams=",".join(sorted(gone))
            )

    async def _tell_hub(self, kind: str, **fields: str) -> bool:
        """False when the layer refused (a hub fallen behind: ChannelFull; Redis away):
        the renewal tells the hub the whole state again, so nothing is lost for good."""
        return await self._layer_call(
            self.channel_layer.send(
                hub.hub_channel(),
                {
                    "type": kind,
                    "channel": self.channel_name,
                    "user": self.user_id,
                    "credential": self.credential_id,
                    **fields,
                },
            )
        )

    @staticmethod
    async def _layer_call(call: Awaitable[None]) -> bool:
        """A channel-layer call on the browser's path: its error never closes the socket
        (the server would log an application error and close it with code 1011)."""
        try:
            await call
        except Exception as error:
            log.warning("relay: a channel-layer call failed: %s", type(error).__name__)
            return False
        return True

    async def _renew(self) -> None:
        """The lease: the whole state, every ``renew_s`` (also re-teaches a restarted hub).
        The socket's own groups (notices, status) are added again too: a Redis restarted
        empty forgets them, and channels-redis drops a member after a day (group expiry)."""
        period = float(_setting("KISWEB_RELAY_RENEW_S", 20))
        while True:
            await asyncio.sleep(period)
            try:
                hub.ensure_local_hub()
                for group in self.groups_joined:
                    await self.channel_layer.group_add(group, self.channel_name)
                for group in self.quote_groups:  # a join the layer refused, or a dead reader
                    await local_fanout(self.channel_layer).join(group, self)
                await self._tell_hub("relay.renew", interests=hub.encode_interests(self.interests))
            except asyncio.CancelledError:
                raise
            except Exception as error:  # Redis away: the next round tells it all again
                log.warning("relay: a socket's renewal failed: %s", type(error).__name__)

    async def _join(self, group: str) -> None:
        if group not in self.groups_joined:
            self.groups_joined.add(group)  # the renewal adds it again if this fails
            await self._layer_call(self.channel_layer.group_add(group, self.channel_name))

    # ------------------------------------------------------------------ hub -> browser

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Hub messages go straight to their handler. Channels' own ``dispatch`` first runs
        ``close_old_connections`` through ``sync_to_async`` on every message: one hop to the
        single sync thread per frame per socket, which at 500 sockets was most of the relay's
        time (issue #11). No ``relay.*`` handler touches the database; browser frames and the
        connect/disconnect events (which do) keep the base path."""
        kind = message.get("type")
        handler = _HUB_HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is None:
            await super().dispatch(message)
            return
        await getattr(self, handler)(message)

    def deliver_frame(self, message: dict[str, Any]) -> None:
        """A quote frame from this process's fan-out: its text as the hub built it, once."""
        self._enqueue(str(message["text"]), quote=message.get("kind") in _QUOTES)

    async def relay_frame(self, message: dict[str, Any]) -> None:
        self.deliver_frame(message)

    async def relay_status(self, message: dict[str, Any]) -> None:
        self._enqueue(str(message["text"]), quote=False)

    async def relay_subscribed(self, message: dict[str, Any]) -> None:
        streams = [s for s in str(message.get("streams", "")).split(",") if s]
        self._send_json(
            {
                "type": "subscribed",
                "symbol": message.get("symbol", ""),
                "streams": streams,
                "mode": message.get("mode", "live"),
            }
        )

    async def relay_hello(self, message: dict[str, Any]) -> None:
        """A relay took over (or restarted): it learns this socket's state now."""
        await self._tell_hub("relay.renew", interests=hub.encode_interests(self.interests))

    async def relay_error(self, message: dict[str, Any]) -> None:
        self._error(str(message.get("code", "bad_message")), str(message.get("symbol", "")))

    async def relay_notice(self, message: dict[str, Any]) -> None:
        with translation.override(self.language):
            text = notice_sentence(message)
        order_id = message.get("order_id") or None
        self._send_json(
            {
                "type": "notice",
                "symbol": message.get("symbol", ""),
                "name": message.get("name", ""),
                "side": message.get("side", ""),
                "quantity": message.get("quantity", ""),
                "price": message.get("price", ""),
                "kind": message.get("kind", ""),
                "order_id": order_id,
                "text": text,
            }
        )

    def _error(self, code: str, symbol: object = "") -> None:
        with translation.override(self.language):
            text = error_sentence(code)
        body: dict[str, Any] = {"type": "error", "code": code, "message": text}
        if isinstance(symbol, str) and _SYMBOL.match(symbol):
            body["symbol"] = symbol
        self._send_json(body)

    def _send_json(self, body: dict[str, Any]) -> None:
        self._enqueue(json.dumps(body, ensure_ascii=False, separators=(",", ":")), quote=False)

    def _enqueue(self, text: str, *, quote: bool) -> None:
        if quote:
            if self.quotes_queued >= self.queue_limit:
                self._drop_oldest_quote()
            self.quotes_queued += 1
        self.queue.append((quote, text))
        self.wakeup.set()

    def _drop_oldest_quote(self) -> None:
        for index, (quote, _text) in enumerate(self.queue):
            if quote:
                del self.queue[index]
                self.quotes_queued -= 1
                self.dropped += 1
                RELAY_DROPS.labels(reason="socket_queue").inc()
                return

    async def _writer(self) -> None:
        while True:
            while not self.queue:
                self.wakeup.clear()
                await self.wakeup.wait()
            quote, text = self.queue.popleft()
            if quote:
                self.quotes_queued -= 1
            await self.send(text_data=text)


def _parse(message: object) -> tuple[str, str, set[str]] | None:
    """``(type, symbol, streams)`` of a well-formed subscribe/unsubscribe, else None."""
    if not isinstance(message, dict):
        return None
    kind = message.get("type")
    symbol = message.get("symbol")
    streams = message.get("streams", ["trade"])
    if kind not in ("subscribe", "unsubscribe") or not isinstance(symbol, str):
        return None
    if not _SYMBOL.match(symbol) or not isinstance(streams, list) or not streams:
        return None
    if len(streams) > 2 or not all(isinstance(s, str) and s in hub.STREAMS for s in streams):
        return None
    return str(kind), symbol.upper(), set(streams)
