"""WebSocket routes of every app, gathered in one list for asgi.py, which ends it with
``refuse_unknown_path``: without that last route the router raises on a path nobody
serves, and any handshake (even to ``/``) became a 500 with a traceback in the log."""

from __future__ import annotations

import logging

from channels.security.websocket import WebsocketDenier  # type: ignore[import-untyped]  # channels ships no type information
from django.urls import URLPattern, re_path

log = logging.getLogger(__name__)

from market.routing import websocket_urlpatterns as market_routes  # noqa: E402

websocket_urlpatterns: list[URLPattern] = [*market_routes]


class UnknownPathDenier(WebsocketDenier):
    """Closes the handshake before accepting it, which the server answers with 403."""

    async def connect(self) -> None:
        log.warning("WebSocket refused: no route for %r", self.scope["path"])
        await self.close()


refuse_unknown_path = re_path(r"", UnknownPathDenier.as_asgi())
