"""Access tokens, approval keys and hashkeys (REFERENCE.md §2).

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
from dataclasses import dataclass

from .clock import KST

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
