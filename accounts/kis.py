"""Opening a ``kisweb.kis.KisClient`` for a stored credential: the public way for every
app to talk to KIS as a user (endpoints from settings, tokens in the database, and in
hosted mode the Redis rate limiter and issue lock shared by all processes).

Async code (consumers, the market hub) opens a client with ``open_client``. Sync code calls
``call_kis``: the call runs on the process's KIS loop (``accounts.kisloop``) with a client
kept in a pool, so its kept-alive connections, its token (read from the database once, not
per call) and one Redis client per process serve every call that follows.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import redis.asyncio
from django.conf import settings

from accounts.kisloop import process_loop
from accounts.models import Credential
from accounts.tokenstore import DatabaseTokenStore
from kisweb.kis import Environment, KisClient, KisCredentials, RedisRateLimiter

log = logging.getLogger(__name__)

T = TypeVar("T")

POOL_SIZE = 64  # clients kept per process; each holds a few kept-alive connections
POOL_IDLE_S = 300.0  # a client unused this long is closed


def kis_credentials(credential: Credential) -> KisCredentials:
    """The library's view of a credential. Raises ``SecretUnavailable`` when the app
    secret cannot be opened."""
    return KisCredentials(
        app_key=credential.app_key,
        app_secret=credential.reveal_app_secret(),
        account_no=credential.account_number,
        product_code=credential.product_code,
        hts_id=credential.hts_id,
        env=Environment(credential.environment),
    )


@contextlib.asynccontextmanager
async def open_client(credential: Credential, **options: Any) -> AsyncIterator[KisClient]:
    """``async with open_client(credential) as client:``; ``options`` go to ``KisClient``."""
    endpoints = settings.KISWEB_KIS_ENDPOINTS[credential.environment]
    shared = redis.asyncio.from_url(settings.REDIS_URL) if settings.REDIS_URL else None
    try:
        client = KisClient(
            kis_credentials(credential),
            endpoints["rest"],
            endpoints["ws"],
            token_store=DatabaseTokenStore(credential, redis=shared),
            limiter=RedisRateLimiter(shared) if shared is not None else None,
            **options,
        )
        async with client:
            yield client
    finally:
        if shared is not None:
            await shared.aclose()


def call_kis(
    credential: Credential, work: Callable[[KisClient], Awaitable[T]], **options: Any
) -> T:
    """``work(client)`` with the pooled client of ``credential``, from sync code; ``options``
    go to ``KisClient`` (clients with other options are pooled apart). Raises
    ``SecretUnavailable`` when the app secret cannot be opened."""
    creds = kis_credentials(credential)
    endpoints = settings.KISWEB_KIS_ENDPOINTS[credential.environment]
    redis_url = settings.REDIS_URL or ""
    fingerprint = _fingerprint(creds, endpoints["rest"], endpoints["ws"], redis_url)
    key = (credential.pk, fingerprint, tuple(sorted(options.items())))

    def make() -> KisClient:
        shared = _pool.redis(redis_url)
        return KisClient(
            creds,
            endpoints["rest"],
            endpoints["ws"],
            token_store=DatabaseTokenStore(credential, redis=shared),
            limiter=_pool.limiter(redis_url),
            **options,
        )

    async def leased() -> T:
        async with _pool.lease(key, (credential.pk, fingerprint), make) as client:
            return await work(client)

    return process_loop.run(leased)


def _fingerprint(creds: KisCredentials, *where: str) -> str:
    """Everything a client is built from, as a digest: a new secret, key, account or host is
    a new client, and the secret stays out of the pool's keys."""
    parts = (
        creds.app_key,
        creds.app_secret,
        creds.account_no,
        creds.product_code,
        creds.hts_id,
        str(creds.env),
        *where,
    )
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


@dataclass(slots=True)
class _Pooled:
    client: KisClient
    credential_id: Hashable
    fingerprint: str
    leases: int = 0
    last_used: float = field(default_factory=time.monotonic)
    retired: bool = False


class ClientPool:
    """Clients by (credential, fingerprint, options), used only on the process loop.

    A credential whose fingerprint changed (its secret was rotated, its key or account
    edited) retires its old clients: calls under way finish on them, then they close, and
    no new call gets them. The least recently used idle client goes when the pool is full,
    and, at the next call, any client idle for ``idle_s`` (its connections themselves
    expire after httpx's few seconds of keep-alive).
    """

    def __init__(self, size: int = POOL_SIZE, idle_s: float = POOL_IDLE_S) -> None:
        self._size = size
        self._idle_s = idle_s
        self._clients: OrderedDict[Hashable, _Pooled] = OrderedDict()
        self._redis: dict[str, redis.asyncio.Redis] = {}
        self._limiters: dict[str, RedisRateLimiter] = {}

    def redis(self, url: str) -> redis.asyncio.Redis | None:
        """The process's Redis client for ``url`` (hosted mode), made on the loop."""
        if not url:
            return None
        if url not in self._redis:
            self._redis[url] = redis.asyncio.from_url(url)
        return self._redis[url]

    def limiter(self, url: str) -> RedisRateLimiter | None:
        shared = self.redis(url)
        if shared is None:
            return None
        if url not in self._limiters:
            self._limiters[url] = RedisRateLimiter(shared)
        return self._limiters[url]

    @contextlib.asynccontextmanager
    async def lease(
        self, key: Hashable, built_from: tuple[Hashable, str], make: Callable[[], KisClient]
    ) -> AsyncIterator[KisClient]:
        """The client under ``key``, made by ``make`` when there is none. ``built_from`` is
        (credential id, fingerprint): other fingerprints of that credential are out of date.
        """
        # The pool changes only between awaits, so concurrent leases see it whole.
        cutoff = time.monotonic() - self._idle_s
        closing = self._take(lambda entry: not entry.leases and entry.last_used < cutoff)
        entry = self._clients.get(key)
        if entry is None:
            credential_id, fingerprint = built_from
            closing += self._take(
                lambda other: (
                    other.credential_id == credential_id and other.fingerprint != fingerprint
                )
            )
            spare = [other for other in self._clients.values() if not other.leases]
            surplus = {id(other) for other in spare[: max(0, len(self._clients) + 1 - self._size)]}
            closing += self._take(lambda other: id(other) in surplus)
            entry = self._clients[key] = _Pooled(make(), credential_id, fingerprint)
        self._clients.move_to_end(key)
        entry.leases += 1
        try:
            await _close(closing)
            yield entry.client
        finally:
            entry.leases -= 1
            entry.last_used = time.monotonic()
            if entry.retired and not entry.leases:
                await _close([entry.client])

    def __len__(self) -> int:
        return len(self._clients)

    async def aclose(self) -> None:
        """Close every client and Redis connection (the loop is stopping)."""
        await _close(self._take(lambda _: True))
        for shared in self._redis.values():
            await shared.aclose()
        self._redis.clear()
        self._limiters.clear()

    def forget(self) -> None:
        """After a fork: the clients' sockets are the parent's; drop them unclosed."""
        self._clients.clear()
        self._redis.clear()
        self._limiters.clear()

    def _take(self, which: Callable[[_Pooled], bool]) -> list[KisClient]:
        """Retire the entries ``which`` picks; returns the clients no call is using (the
        others close when their last call ends)."""
        idle = []
        for key in [key for key, entry in self._clients.items() if which(entry)]:
            entry = self._clients.pop(key)
            entry.retired = True
            if not entry.leases:
                idle.append(entry.client)
        return idle


async def _close(clients: list[KisClient]) -> None:
    for client in clients:
        try:
            await client.aclose()
        except Exception:
            log.exception("closing a pooled KIS client failed")


_pool = ClientPool()
process_loop.on_stop(_pool.aclose)
os.register_at_fork(after_in_child=_pool.forget)
