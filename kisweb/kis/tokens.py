"""Access tokens and approval keys: issue once, share, renew before expiry.

KIS lets an app key issue an access token once a minute, and every issue notifies the
account holder (docs/kis-protocol.md §2.1). So a token is issued once per app key, saved in a
``TokenStore`` shared by every process, reused until shortly before it expires, and issued
under a single flight: an in-process lock plus the store's cross-process issue lock, with a
second look at the store once the lock is held. The WebSocket approval key (§2.3) follows
the same path with its own ``TokenKind``.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from . import hooks
from .errors import TokenIssueTooSoon

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class TokenKind(enum.StrEnum):
    """What a stored token is for: REST calls or the realtime session."""

    ACCESS = "access"  # /oauth2/tokenP, docs/kis-protocol.md §2.1
    APPROVAL = "approval"  # /oauth2/Approval, docs/kis-protocol.md §2.3


@dataclass(frozen=True, slots=True)
class Token:
    """An issued access token or approval key. ``value`` never appears in ``repr()``."""

    value: str = field(repr=False)
    expires_at: datetime
    issued_at: datetime

    def remaining(self, now: datetime) -> timedelta:
        return self.expires_at - now


class TokenStore(Protocol):
    """Where tokens live between calls and processes. The Django app implements it over
    its database (values encrypted at rest); ``MemoryTokenStore`` serves one process.

    ``issue_lock`` returns an async context manager held around an issue, so that among
    all processes sharing the store only one issues; use ``RedisIssueLock`` for that in
    hosted mode, ``LocalIssueLock`` within one process.
    """

    async def load(self, app_key: str, kind: TokenKind) -> Token | None: ...

    async def save(self, app_key: str, kind: TokenKind, token: Token) -> None: ...

    def issue_lock(self, app_key: str, kind: TokenKind) -> AbstractAsyncContextManager[None]: ...


class LocalIssueLock:
    """An asyncio lock per (app key, kind): single flight within one process and loop."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, TokenKind], asyncio.Lock] = {}

    def __call__(self, app_key: str, kind: TokenKind) -> asyncio.Lock:
        return self._locks.setdefault((app_key, kind), asyncio.Lock())


class RedisIssueLock:
    """A cross-process issue lock on Redis (``SET NX PX`` plus a compare-and-delete), for
    ``TokenStore`` implementations in hosted mode.

    ``ttl_s`` bounds how long a crashed holder blocks the others; it must exceed one issue
    call. Waiting longer than ``wait_s`` raises ``TimeoutError``.
    """

    _RELEASE = (
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
        "else return 0 end"
    )

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = "kisweb:kis:issue-lock",
        ttl_s: float = 30.0,
        wait_s: float = 40.0,
        poll_s: float = 0.05,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl_ms = int(ttl_s * 1000)
        self._wait_s = wait_s
        self._poll_s = poll_s

    @contextlib.asynccontextmanager
    async def __call__(self, app_key: str, kind: TokenKind) -> AsyncIterator[None]:
        key = f"{self._prefix}:{kind}:{app_key}"
        holder = secrets.token_hex(16)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait_s
        while not await self._redis.set(key, holder, nx=True, px=self._ttl_ms):
            if loop.time() >= deadline:
                raise TimeoutError(f"token issue lock for {kind} held too long")
            await asyncio.sleep(self._poll_s)
        try:
            yield
        finally:
            await self._redis.eval(self._RELEASE, 1, key, holder)


class MemoryTokenStore:
    """Tokens in a dict: for one process, tests and standalone scripts."""

    def __init__(self, issue_lock: Callable[..., AbstractAsyncContextManager[None]] | None = None):
        self._tokens: dict[tuple[str, TokenKind], Token] = {}
        self._issue_lock = issue_lock or LocalIssueLock()

    async def load(self, app_key: str, kind: TokenKind) -> Token | None:
        return self._tokens.get((app_key, kind))

    async def save(self, app_key: str, kind: TokenKind, token: Token) -> None:
        self._tokens[(app_key, kind)] = token

    def issue_lock(self, app_key: str, kind: TokenKind) -> AbstractAsyncContextManager[None]:
        return self._issue_lock(app_key, kind)


class TokenManager:
    """Hands out a valid token of one kind for one app key.

    - Reuses the cached or stored token while more than ``renew_before`` remains.
    - Issues under single flight (in-process lock, then the store's issue lock, then a
      second load: another process may have issued meanwhile).
    - Never issues twice within ``min_issue_interval`` (KIS: once a minute, EGW00133).
      If a still-valid token exists it is used until the interval has passed; if none does,
      it waits up to ``max_issue_wait`` and otherwise raises ``TokenIssueTooSoon``.
    - ``invalidate(token)`` marks a token KIS refused (EGW00123/121), forcing a new issue.
    """

    def __init__(
        self,
        *,
        app_key: str,
        kind: TokenKind,
        issue: Callable[[], Awaitable[Token]],
        store: TokenStore,
        now: Clock = utc_now,
        renew_before: timedelta = timedelta(minutes=10),
        min_issue_interval: timedelta = timedelta(seconds=60),
        max_issue_wait: timedelta = timedelta(0),
    ) -> None:
        self._app_key = app_key
        self._kind = kind
        self._issue = issue
        self._store = store
        self._now = now
        self._renew_before = renew_before
        self._min_issue_interval = min_issue_interval
        self._max_issue_wait = max_issue_wait
        self._cached: Token | None = None
        self._refused_value: str | None = None
        self._last_issue_attempt: datetime | None = None
        self._future_issue: tuple[datetime, datetime] | None = None  # (issued at, seen at)
        self._lock = asyncio.Lock()

    async def get(self) -> Token:
        token = self._cached
        if token is not None and self._needs_no_renewal(token):
            return token
        async with self._lock:
            token = self._cached
            if token is not None and self._needs_no_renewal(token):
                return token
            async with self._store.issue_lock(self._app_key, self._kind):
                return await self._load_or_issue()

    def invalidate(self, token: Token) -> None:
        """KIS refused ``token``: the next ``get()`` issues a new one."""
        self._refused_value = token.value
        if self._cached is not None and self._cached.value == token.value:
            self._cached = None

    async def _load_or_issue(self) -> Token:
        last = await self._store.load(self._app_key, self._kind)
        stored = None if last is not None and last.value == self._refused_value else last
        if stored is not None and self._needs_no_renewal(stored):
            self._cached = stored
            return stored
        usable = stored if stored is not None and self._is_valid(stored) else None

        wait = self._issue_wait(last)
        if wait > timedelta(0):
            if usable is not None:
                self._cached = usable  # renew once the interval allows
                return usable
            if wait > self._max_issue_wait:
                raise TokenIssueTooSoon(
                    "EGW00133",
                    "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)",
                    retry_after_s=wait.total_seconds(),
                )
            await asyncio.sleep(wait.total_seconds())

        self._last_issue_attempt = self._now()
        try:
            token = await self._issue()
        except Exception:
            if usable is not None:
                log.warning("renewing the %s token failed; using the current one", self._kind)
                self._cached = usable
                return usable
            raise
        await self._store.save(self._app_key, self._kind, token)
        self._cached = token
        self._refused_value = None
        log.info("issued a new %s token for app key %s", self._kind, _mask(self._app_key))
        hooks.token_issue(str(self._kind))
        return token

    def _issue_wait(self, last: Token | None) -> timedelta:
        """How long until the next issue is allowed (once a minute, docs/kis-protocol.md §2.1).

        If the last issue lies in the future, the wall clock went back (or another host's
        clock runs ahead): the time since that issue is unknown, so one full interval is
        counted from the moment this was first seen. The wait is never longer than one
        interval; otherwise a clock set back an hour would block trading for an hour.
        """
        issued = [t for t in (self._last_issue_attempt, last and last.issued_at) if t]
        if not issued:
            return timedelta(0)
        latest = max(issued)
        now = self._now()
        if latest > now:
            if self._future_issue is None or self._future_issue[0] != latest:
                self._future_issue = (latest, now)
            latest = self._future_issue[1]
        return min(latest + self._min_issue_interval - now, self._min_issue_interval)

    def _needs_no_renewal(self, token: Token) -> bool:
        return token.value != self._refused_value and (
            token.remaining(self._now()) > self._renew_before
        )

    def _is_valid(self, token: Token) -> bool:
        return token.remaining(self._now()) > timedelta(0)


def _mask(app_key: str) -> str:
    """App keys are not secret, but logs only need enough to tell them apart."""
    return f"****{app_key[-4:]}"
