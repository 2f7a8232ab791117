"""The OAuth endpoints and what they hand out: tokens, approval keys, hashkeys (§2).

Two documented token rules pull against each other: a re-request within ~6 hours returns
the *same* token, yet issuing is limited to once a minute (EGW00133). We apply them in that
order: while an app key holds a live token issued within the reuse window, `tokenP` hands
it back (HTTP 200, counted as no new issue) however soon it is asked again. Only a request
that would mint a *new* token (none yet, or the last one revoked or expired) is held to the
one-per-minute rule. So EGW00133 is what a client sees when it re-issues right after a
revoke or an expiry.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from . import wire
from .clock import KST
from .wire import ApiError

if TYPE_CHECKING:
    from .market import Ledger
    from .server import Simulator

TOKEN_LIFETIME_S = 86_400
REUSE_WINDOW_S = 6 * 3600
ISSUE_INTERVAL_S = 60.0
TOKEN_TARGET_LEN = 350


@dataclass
class Token:
    value: str
    appkey: str
    env: str
    issued_at: float  # time.monotonic()
    expires_kst: dt.datetime
    revoked: bool = False
    expired: bool = False

    def live(self, now: float) -> bool:
        return not (self.revoked or self.expired) and now - self.issued_at < TOKEN_LIFETIME_S


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenStore:
    """All issued tokens and approval keys of one simulator (both environments)."""

    def __init__(self, issue_interval_s: float | None = None) -> None:
        # Settable while running: tests of renewal shorten KIS's one-minute rule.
        self.issue_interval_s = ISSUE_INTERVAL_S if issue_interval_s is None else issue_interval_s
        self._lock = threading.Lock()
        self._secret = secrets.token_bytes(32)
        self._tokens: dict[str, Token] = {}
        self._current: dict[str, Token] = {}  # appkey -> token handed out by tokenP
        self._last_issue: dict[str, float] = {}
        self._approvals: dict[str, str] = {}  # approval_key -> appkey

    def request_token(self, appkey: str, env: str) -> tuple[Token | None, bool]:
        """(token, newly_issued); (None, False) means EGW00133 (too soon)."""
        now = time.monotonic()
        with self._lock:
            current = self._current.get(appkey)
            if current and current.live(now) and now - current.issued_at < REUSE_WINDOW_S:
                return current, False
            last = self._last_issue.get(appkey)
            if last is not None and now - last < self.issue_interval_s:
                return None, False
            token = self._mint(appkey, env, now)
            self._tokens[token.value] = token
            self._current[appkey] = token
            self._last_issue[appkey] = now
            return token, True

    def _mint(self, appkey: str, env: str, now: float) -> Token:
        expires = dt.datetime.now(KST).replace(microsecond=0) + dt.timedelta(
            seconds=TOKEN_LIFETIME_S
        )
        header = _b64(json.dumps({"typ": "JWT", "alg": "HS512"}).encode())
        claims = {
            "sub": "token",
            "aud": str(uuid.uuid4()),
            "prdt_cd": "",
            "iss": "unogw",
            "exp": int(expires.timestamp()),
            "iat": int(expires.timestamp()) - TOKEN_LIFETIME_S,
            "jti": appkey,
        }
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{header}.{body}".encode()
        signature = _b64(hmac.new(self._secret, signing_input, hashlib.sha512).digest())
        value = f"{header}.{body}.{signature}"
        # Pad the claims with a nonce so the token lands near KIS's ~350 characters.
        if len(value) < TOKEN_TARGET_LEN:
            claims["nonce"] = secrets.token_hex(TOKEN_TARGET_LEN)[
                : max(0, (TOKEN_TARGET_LEN - len(value) - 12) * 3 // 4)
            ]
            body = _b64(json.dumps(claims, separators=(",", ":")).encode())
            signing_input = f"{header}.{body}".encode()
            signature = _b64(hmac.new(self._secret, signing_input, hashlib.sha512).digest())
            value = f"{header}.{body}.{signature}"
        return Token(value, appkey, env, now, expires)

    def lookup(self, value: str) -> Token | None:
        with self._lock:
            return self._tokens.get(value)

    def revoke(self, appkey: str, value: str) -> bool:
        with self._lock:
            token = self._tokens.get(value)
            if token is None or token.appkey != appkey:
                return False
            token.revoked = True
            return True

    def expire_all(self) -> None:
        with self._lock:
            for token in self._tokens.values():
                token.expired = True

    def issue_approval(self, appkey: str) -> str:
        key = str(uuid.uuid4())
        with self._lock:
            self._approvals[key] = appkey
        return key

    def approval_owner(self, approval_key: str) -> str | None:
        with self._lock:
            return self._approvals.get(approval_key)


def hash_body(raw: bytes) -> str:
    """HASH for `/uapi/hashkey`: a digest of the exact body the client will POST."""
    return hashlib.sha256(raw).hexdigest()


def check_credentials(
    sim: Simulator, env: str, appkey: str, secret: str, key_envs: Collection[str] = ()
) -> Ledger:
    """The gateway's key checks, in its order; the ledger of a key that may call `env`.

    `key_envs` widens which environments' keys the `env` host accepts (default: its own).
    """
    if not appkey:
        raise ApiError(wire.APPKEY_REQUIRED)
    ledger = sim.market.ledgers.get(appkey)
    if ledger is None:
        raise ApiError(wire.APPKEY_INVALID)
    if not secret:
        raise ApiError(wire.APPSECRET_REQUIRED)
    if secret != ledger.account.appsecret:
        raise ApiError(wire.APPSECRET_INVALID)
    if ledger.account.env not in (key_envs or (env,)):
        raise ApiError(wire.REAL_DOMAIN_PAPER_KEY if env == "real" else wire.PAPER_DOMAIN_REAL_KEY)
    return ledger


APPROVAL = "/oauth2/Approval"
OAUTH_PATHS = ("/oauth2/tokenP", "/oauth2/revokeP", APPROVAL)
# The paper host issues approval keys to real app keys as well (python-kis in paper mode relies
# on it; docs/kis-protocol.md §2.3). The key still opens only the real WebSocket.
APPROVAL_KEY_ENVS = {"paper": ("paper", "real"), "real": ("real",)}


async def handle(sim: Simulator, request: web.Request, env: str, raw: bytes) -> web.Response:
    """`/oauth2/*` (§2): JSON bodies in, `error_code`/`error_description` 403s out."""
    if request.method != "POST":
        raise ApiError(wire.NO_ROUTE)
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return wire.oauth_error(wire.BAD_REQUEST.msg_cd, wire.BAD_REQUEST.msg1)
    path = request.path
    if path not in OAUTH_PATHS:
        raise ApiError(wire.NO_ROUTE)
    appkey = str(body.get("appkey") or "")
    secret = str(body.get("secretkey" if path == APPROVAL else "appsecret") or "")
    if path == "/oauth2/tokenP":
        sim.stats.count_token_request(appkey)
    key_envs = APPROVAL_KEY_ENVS[env] if path == APPROVAL else ()
    try:
        check_credentials(sim, env, appkey, secret, key_envs)
    except ApiError as error:
        return wire.oauth_error(error.answer.msg_cd, error.answer.msg1)
    if path == "/oauth2/revokeP":
        return _revoke(sim, appkey, str(body.get("token") or ""))
    if body.get("grant_type") != "client_credentials":
        return wire.oauth_error(wire.BAD_REQUEST.msg_cd, wire.BAD_REQUEST.msg1)
    if path == "/oauth2/tokenP":
        return _issue_token(sim, appkey, env)
    sim.stats.count_approval_issue(appkey)
    return web.json_response({"approval_key": sim.tokens.issue_approval(appkey)})


def _issue_token(sim: Simulator, appkey: str, env: str) -> web.Response:
    token, fresh = sim.tokens.request_token(appkey, env)
    if token is None:
        return wire.oauth_error("EGW00133", "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)")
    if fresh:
        sim.stats.count_token_issue(appkey)
    remaining = TOKEN_LIFETIME_S - int(time.monotonic() - token.issued_at)
    return web.json_response(
        {
            "access_token": token.value,
            "access_token_token_expired": token.expires_kst.strftime("%Y-%m-%d %H:%M:%S"),
            "token_type": "Bearer",
            "expires_in": remaining,
        }
    )


def _revoke(sim: Simulator, appkey: str, value: str) -> web.Response:
    if sim.tokens.revoke(appkey, value):
        body = {"code": "200", "message": "접근토큰 폐기에 성공하였습니다"}
        return web.json_response(body, dumps=lambda v: json.dumps(v, ensure_ascii=False))
    return wire.oauth_error(wire.TOKEN_INVALID.msg_cd, wire.TOKEN_INVALID.msg1)
