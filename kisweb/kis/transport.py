"""One KIS call on the wire: limiter slot around HTTP → envelope check → retry policy.

There is one retry loop (``Transport.send``) and two policies. ``READ`` (inquiries and the
``/oauth2`` issues) retries rate limits and transient failures with bounded, jittered
backoff. ``ORDER`` never resends: an answer that may hide an accepted order becomes
``OutcomeUnknown``. Under both, an expired access token is renewed once and the call
repeated once, because KIS's gateway refused it before anything ran. Bodies are read
whatever the HTTP status (docs/kis-protocol.md §5).

Identical reads in flight at the same time are sent once and their answer (or error) given
to every caller (``SingleFlight``): three widgets asking for one quote cost one call. Nothing
is kept after the call returns, and orders are never shared.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import hashlib
import json
import logging
import random
import ssl
import time
from collections.abc import Callable, Coroutine, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

from . import hooks
from .credentials import KisCredentials
from .errors import (
    InvalidCredential,
    KisError,
    MalformedAnswer,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    TokenExpired,
    TokenIssueTooSoon,
    UpstreamUnavailable,
)
from .limiter import RateLimiter
from .tokens import TokenManager

log = logging.getLogger(__name__)

# docs/kis-protocol.md §5. Codes whose meaning is certain: KIS did not run the request.
_RATE_LIMIT_CODES = frozenset({"EGW00201", "EGW00215"})
_TOKEN_CODES = frozenset({"EGW00123", "EGW00121"})
_CREDENTIAL_CODES = frozenset({"EGW00103", "EGW00105", "EGW02004"})
_ISSUE_TOO_SOON_CODE = "EGW00133"
_RATE_WAIT_FLOOR_S = 0.005
# Gateway answers that say nothing about whether the request ran.
_AMBIGUOUS_CODES = frozenset({"", "EGW00002", "EGW00301", "EGW00302"})
_CERTAIN_CODES = _RATE_LIMIT_CODES | _TOKEN_CODES | _CREDENTIAL_CODES | {_ISSUE_TOO_SOON_CODE}


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process. Building one loads the CA bundle (about 50 ms
    here), and the apps open a client per page or order; a context is safe to share."""
    return httpx.create_ssl_context()


class Envelope(enum.Enum):
    """How an endpoint says "done": ``rt_cd`` "0" (API) or the absence of ``error_code``
    (``/oauth2``, docs/kis-protocol.md §2.1, §9)."""

    API = "api"
    OAUTH = "oauth"


@dataclass(frozen=True, slots=True)
class Answer:
    """A successful answer: the decoded body and the ``tr_cont`` paging header."""

    body: Mapping[str, Any]
    tr_cont: str


@dataclass(frozen=True, slots=True)
class Policy:
    """What one kind of call does with a failure.

    ``resend`` retries transient failures. Without it, a failure after the request may
    have reached KIS (an answer without a verdict, a connection lost mid-call) is
    ``OutcomeUnknown``; one that never left this process stays what it is.
    """

    resend: bool

    def judge(self, failure: KisError, *, maybe_sent: bool) -> KisError:
        if not self.resend and maybe_sent and _is_ambiguous(failure):
            return OutcomeUnknown(failure.code, failure.message)
        return failure

    def retries(self, failure: KisError) -> bool:
        return self.resend and _is_transient(failure)


READ = Policy(resend=True)
ORDER = Policy(resend=False)


@dataclass(frozen=True, slots=True)
class Request:
    """One call as sent: ``params`` go in the query (reads), ``json`` in the body."""

    method: str
    path: str
    tr_id: str = ""
    params: Mapping[str, str] | None = None
    json: Mapping[str, str] | None = None
    tr_cont: str = ""
    envelope: Envelope = Envelope.API


class Transport:
    """The HTTP side of one ``KisClient``: a small kept-alive pool, the rate limiter and
    the retry loop. ``access`` (the token manager) is given per call because the
    ``/oauth2`` calls that issue tokens go through the same loop without one."""

    def __init__(
        self,
        creds: KisCredentials,
        rest_url: str,
        *,
        limiter: RateLimiter,
        timeout_s: float,
        read_attempts: int,
        backoff_base_s: float,
        backoff_max_s: float,
    ) -> None:
        self._creds = creds
        self._limiter = limiter
        self._read_attempts = read_attempts
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        # KIS answers at most 20 calls/s per app key: a few kept-alive connections carry
        # that, and a small pool never opens and closes connections under a burst.
        self._http = httpx.AsyncClient(
            base_url=rest_url,
            timeout=timeout_s,
            limits=httpx.Limits(max_connections=10, max_keepalive_connections=10),
            verify=tls_context(),
        )
        self._carried: set[asyncio.Future[Answer]] = set()
        # Reads are shared only between identical credentials; the secret enters the key
        # as a digest, kept in memory only.
        self._sharer = (
            rest_url,
            creds.env,
            creds.app_key,
            hashlib.sha256(creds.app_secret.encode()).digest(),
        )

    async def aclose(self) -> None:
        """Close the pool once the shared reads this transport carries for other callers
        have ended (each is bounded by the timeout and the read attempts)."""
        if self._carried:
            await asyncio.wait(set(self._carried))
        await self._http.aclose()

    async def send(
        self, request: Request, policy: Policy, access: TokenManager | None = None
    ) -> Answer:
        """One call under ``policy``. API reads under ``READ`` are shared with identical
        reads already in flight in this process (same host, credentials, TR, query)."""
        if policy is not READ or request.envelope is not Envelope.API or request.method != "GET":
            return await self._attempts(request, policy, access)
        key = (
            self._sharer,
            request.path,
            request.tr_id,
            request.tr_cont,
            tuple(sorted((request.params or {}).items())),
        )
        return await shared_reads.run(key, lambda: self._carry(request, policy, access))

    async def _carry(self, request: Request, policy: Policy, access: TokenManager | None) -> Answer:
        """The shared read, run on this transport; ``aclose`` waits for it."""
        attempts = asyncio.ensure_future(self._attempts(request, policy, access))
        self._carried.add(attempts)
        try:
            return await attempts
        finally:
            self._carried.discard(attempts)

    async def _attempts(
        self, request: Request, policy: Policy, access: TokenManager | None
    ) -> Answer:
        token_renewed = False
        attempt = 0
        while True:
            headers = {}
            token = await access.get() if access is not None else None
            if token is not None:
                headers = {
                    "authorization": f"Bearer {token.value}",
                    "appkey": self._creds.app_key,
                    "appsecret": self._creds.app_secret,
                    "tr_id": request.tr_id,
                    "tr_cont": request.tr_cont,
                    "custtype": "P",
                }
            observed = request.tr_id or "oauth"
            waited = time.monotonic()
            try:
                # The slot is held until the answer is back: KIS counts the call somewhere
                # in between (limiter.py says why).
                async with self._limiter.slot(self._creds.app_key, self._creds.env):
                    started = time.monotonic()
                    # Admission itself costs a Redis round trip in hosted mode (well under
                    # 5 ms on a LAN); longer than that, the call queued behind the budget.
                    if started - waited > _RATE_WAIT_FLOOR_S:
                        hooks.rate_wait(started - waited)
                    outgoing = self._http.build_request(
                        request.method,
                        request.path,
                        params=request.params,
                        json=request.json,
                        headers=headers,
                    )
                    response = await self._http.send(outgoing, stream=True)
                    try:
                        content = await read_capped(response)
                    finally:
                        await response.aclose()
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # The request never left this process: not sent, for orders too.
                failure = policy.judge(
                    UpstreamUnavailable("NETWORK", _describe(exc)), maybe_sent=False
                )
                hooks.call(observed, type(failure).__name__, time.monotonic() - started)
            except httpx.RequestError as exc:
                # Lost mid-call, or an answer whose bytes cannot be decoded (a corrupt
                # gzip body is ``DecodingError``, not a ``TransportError``): it may have run.
                failure = policy.judge(
                    UpstreamUnavailable("NETWORK", _describe(exc)), maybe_sent=True
                )
                hooks.call(observed, type(failure).__name__, time.monotonic() - started)
            else:
                body = json_body(content) if content is not None else None
                verdict: KisError
                if content is None:
                    verdict = MalformedAnswer(
                        f"HTTP{response.status_code}",
                        f"KIS answered more than {MAX_ANSWER_BYTES // 2**20} MB",
                    )
                elif body is None:
                    verdict = without_body(response.status_code)
                else:
                    found = classify(response.status_code, body, request.envelope)
                    if found is None:
                        hooks.call(observed, "ok", time.monotonic() - started)
                        return Answer(body, response.headers.get("tr_cont", "").strip())
                    verdict = found
                hooks.call(observed, type(verdict).__name__, time.monotonic() - started)
                if (
                    isinstance(verdict, TokenExpired)
                    and access is not None
                    and token is not None
                    and not token_renewed
                ):
                    access.invalidate(token)
                    token_renewed = True
                    continue
                failure = policy.judge(verdict, maybe_sent=True)
            if not policy.retries(failure):
                raise failure
            attempt += 1
            if attempt >= self._read_attempts:
                raise failure
            log.info(
                "KIS %s %s failed (%s); retry %d",
                request.tr_id or "oauth",
                request.path,
                failure.code,
                attempt,
            )
            await self._backoff(attempt)

    async def _backoff(self, attempt: int) -> None:
        ceiling = min(self._backoff_max_s, self._backoff_base_s * 2 ** (attempt - 1))
        await asyncio.sleep(random.uniform(ceiling / 2, ceiling))


# ---------------------------------------------------------------------- error classification


def without_body(status: int) -> KisError:
    """An answer that is empty or not a JSON object: a 5xx is the gateway failing, anything
    else is not the envelope."""
    if status >= 500 or status == 0:
        return UpstreamUnavailable(f"HTTP{status}", "KIS answered without a body")
    return MalformedAnswer(f"HTTP{status}", "KIS answered something other than JSON")


def classify(
    status: int, body: Mapping[str, Any], envelope: Envelope = Envelope.API
) -> KisError | None:
    """``None`` for a success, else the matching ``KisError`` (docs/kis-protocol.md §3.3,
    §5). ``/oauth2`` errors use ``error_code``/``error_description``; a definite refusal
    there with 401/403 is a wrong key pair. An API body without ``rt_cd`` is not KIS's
    envelope: only a gateway code that is certain (rate limit, token, credential) is read
    from it, anything else is ``MalformedAnswer`` (for an order: it may have run)."""
    if "error_code" in body:
        code = _field(body.get("error_code"))
        message = _field(body.get("error_description"))
    else:
        if envelope is Envelope.OAUTH and status == 200:
            return None
        rt_cd = _field(body.get("rt_cd"))
        code = _field(body.get("msg_cd"))
        message = _field(body.get("msg1"))
        if envelope is Envelope.API and rt_cd == "0":
            if status < 400:
                return None
            # KIS says it ran, HTTP says it failed: nobody can tell which.
            return UpstreamUnavailable(f"HTTP{status}", message or "KIS answered rt_cd 0")
        if envelope is Envelope.API and not rt_cd and code and code not in _CERTAIN_CODES:
            return MalformedAnswer(code, message or "KIS answered without rt_cd")
    failure = _by_code(status, code, message)
    if envelope is Envelope.OAUTH and type(failure) is Rejected and status in (401, 403):
        return InvalidCredential(failure.code, failure.message)
    return failure


def _field(value: object) -> str:
    """A code or message of the envelope: KIS sends strings (an int is read as its digits);
    ``null``, lists, objects and booleans say nothing, so they read as empty."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def _by_code(status: int, code: str, message: str) -> KisError:
    if code in _RATE_LIMIT_CODES:
        return RateLimited(code, message)
    if code in _TOKEN_CODES:
        return TokenExpired(code, message)
    if code == _ISSUE_TOO_SOON_CODE:
        return TokenIssueTooSoon(code, message, retry_after_s=60.0)
    if code in _CREDENTIAL_CODES:
        return InvalidCredential(code, message)
    if code in _AMBIGUOUS_CODES or (status >= 500 and not code):
        return UpstreamUnavailable(code or f"HTTP{status}", message or "KIS server error")
    return Rejected(code, message)


def _is_transient(failure: KisError) -> bool:
    """Worth retrying for a read: the same request may well succeed shortly."""
    return isinstance(failure, RateLimited | UpstreamUnavailable)


def _is_ambiguous(failure: KisError) -> bool:
    """For an order: the answer does not say whether KIS took it."""
    return isinstance(failure, UpstreamUnavailable | MalformedAnswer)


# KIS's largest answers (100 daily bars, a page of executions) are tens of kilobytes; a body
# past this is not KIS, and reading it whole could take the process's memory with it.
MAX_ANSWER_BYTES = 8 * 2**20


async def read_capped(response: httpx.Response, limit: int = MAX_ANSWER_BYTES) -> bytes | None:
    """The decoded body (a gzip bomb is counted after decompression), or ``None`` as soon
    as it passes ``limit``."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def json_body(content: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or ``None`` when it is empty or anything else."""
    if not content:
        return None
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the stack
        return None
    return body if isinstance(body, dict) else None


def _describe(exc: Exception) -> str:
    return f"no answer from KIS ({type(exc).__name__})"


# ---------------------------------------------------------------------- single flight

V = TypeVar("V")


@dataclass(slots=True)
class _Flight(Generic[V]):
    task: asyncio.Task[V]
    waiters: int = 0


class SingleFlight(Generic[V]):
    """Concurrent calls with one key share one run; nothing is kept once it ends.

    Keyed per event loop (a task belongs to its loop), so threads running their own loops
    never wait on each other and touch disjoint keys of one dict. The run is a task of its
    own: a caller that gives up stops waiting without cancelling it for the others, and the
    last caller to give up cancels it. An error reaches every caller waiting, like a result.
    """

    def __init__(self) -> None:
        self._flights: dict[tuple[asyncio.AbstractEventLoop, Hashable], _Flight[V]] = {}

    async def run(self, key: Hashable, call: Callable[[], Coroutine[Any, Any, V]]) -> V:
        loop = asyncio.get_running_loop()
        flight_key = (loop, key)
        flight = self._flights.get(flight_key)
        if flight is None:
            flight = _Flight(loop.create_task(call()))
            self._flights[flight_key] = flight
            flight.task.add_done_callback(lambda _: self._forget(flight_key, flight))
        flight.waiters += 1
        try:
            return await asyncio.shield(flight.task)
        finally:
            flight.waiters -= 1
            if flight.waiters == 0 and not flight.task.done():
                flight.task.cancel()

    def _forget(
        self, flight_key: tuple[asyncio.AbstractEventLoop, Hashable], flight: _Flight[V]
    ) -> None:
        if self._flights.get(flight_key) is flight:
            del self._flights[flight_key]


shared_reads: SingleFlight[Answer] = SingleFlight()
"""Process-wide: ``KisClient`` instances of one app key (a client per request is how the
Django apps open them) share their reads."""
