"""Realtime quotes and execution notices over KIS's WebSocket (docs/kis-protocol.md §7)."""

from .events import (
    BookTexts,
    ConnectionState,
    Event,
    ExecutionNotice,
    NoticeAction,
    OrderBook,
    SessionState,
    Trade,
)
from .frames import SCHEMAS, FrameParser, MalformedFrame, decrypt_payload
from .session import MAX_REGISTRATIONS, RealtimeSession

__all__ = [
    "MAX_REGISTRATIONS",
    "SCHEMAS",
    "BookTexts",
    "ConnectionState",
    "Event",
    "ExecutionNotice",
    "FrameParser",
    "MalformedFrame",
    "NoticeAction",
    "OrderBook",
    "RealtimeSession",
    "SessionState",
    "Trade",
    "decrypt_payload",
]
