"""The market app's WebSocket route: the browser's one socket per tab."""

from __future__ import annotations

from django.urls import re_path

from market.consumers import MarketConsumer

websocket_urlpatterns = [re_path(r"^ws/market/$", MarketConsumer.as_asgi())]
