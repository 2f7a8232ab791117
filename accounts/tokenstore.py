"""``kisweb.kis.TokenStore`` over the database: one sealed token per credential and kind,
shared by every process that reads this database.

The store is bound to one credential, so a token is only ever handed to the credential it
was issued for (two users who typed the same app key never share a token). Issues are
serialised per app key: across processes with the Redis lock from ``kisweb.kis`` when
``REDIS_URL`` is set, within this process with a thread lock (the process's KIS loop and
the consumers' loop are different loops, so an ``asyncio.Lock`` could not be shared
between them).

Rows are read and written through ``accounts.kisloop.on_caller_thread``: a sync view's call
uses the view's own database connection (and transaction), an async caller Django's
thread-sensitive executor, as the async ORM would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager

from redis.asyncio import Redis

from accounts.kisloop import on_caller_thread
from accounts.models import Credential, KisToken
from accounts.secrets import SecretUnavailable
from kisweb.kis import RedisIssueLock, Token, TokenKind

log = logging.getLogger(__name__)

_thread_locks: dict[tuple[str, str], threading.Lock] = {}
_thread_locks_guard = threading.Lock()


@contextlib.asynccontextmanager
async def _process_issue_lock(app_key: str, kind: TokenKind) -> AsyncIterator[None]:
    with _thread_locks_guard:
        lock = _thread_locks.setdefault((app_key, str(kind)), threading.Lock())
    # Poll rather than block: the event loop keeps running while another loop issues.
    while not lock.acquire(blocking=False):
        await asyncio.sleep(0.01)
    try:
        yield
    finally:
        lock.release()


class DatabaseTokenStore:
    """Tokens of one credential in ``KisToken`` rows, values sealed (``accounts.secrets``).

    ``redis`` (a ``redis.asyncio`` client) turns on the cross-process issue lock.
    """

    def __init__(self, credential: Credential, *, redis: Redis | None = None) -> None:
        self._credential_id = credential.pk
        self._app_key = credential.app_key
        self._redis_lock = RedisIssueLock(redis) if redis is not None else None

    async def load(self, app_key: str, kind: TokenKind) -> Token | None:
        if app_key != self._app_key:
            return None
        return await on_caller_thread(lambda: self._read(app_key, kind))

    async def save(self, app_key: str, kind: TokenKind, token: Token) -> None:
        if app_key != self._app_key:
            raise ValueError("this store belongs to another app key")
        await on_caller_thread(lambda: self._write(app_key, kind, token))

    def _read(self, app_key: str, kind: TokenKind) -> Token | None:
        row = KisToken.objects.filter(
            credential_id=self._credential_id, kind=str(kind), app_key=app_key
        ).first()
        if row is None:
            return None
        try:
            value = row.reveal_value()
        except SecretUnavailable:
            # Fail closed: an unreadable token is no token; the manager issues a new one.
            log.warning(
                "stored %s token of credential %s cannot be opened", kind, row.credential_id
            )
            return None
        return Token(value=value, expires_at=row.expires_at, issued_at=row.issued_at)

    def _write(self, app_key: str, kind: TokenKind, token: Token) -> None:
        sealed = KisToken(credential_id=self._credential_id, kind=str(kind))
        sealed.set_value(token.value)
        KisToken.objects.update_or_create(
            credential_id=self._credential_id,
            kind=str(kind),
            defaults={
                "app_key": app_key,
                "value_enc": sealed.value_enc,
                "issued_at": token.issued_at,
                "expires_at": token.expires_at,
            },
        )

    def issue_lock(self, app_key: str, kind: TokenKind) -> AbstractAsyncContextManager[None]:
        if self._redis_lock is not None:
            return self._redis_lock(app_key, kind)
        return _process_issue_lock(app_key, kind)
