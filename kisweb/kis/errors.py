"""One exception hierarchy for everything KIS can answer (docs/kis-protocol.md §5, §7.6).

Every error keeps KIS's own code and message (Korean, verbatim, trailing spaces stripped) so
the UI can show what KIS said. No exception ever carries a secret: messages are built only
from KIS's code and text, never from request headers or bodies.
"""

from __future__ import annotations


class KisError(Exception):
    """Base class. ``code`` is KIS's code (``msg_cd``, ``error_code`` or ``OPSPxxxx``)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message.rstrip()
        super().__init__(f"{code}: {self.message}" if code else self.message)


class RateLimited(KisError):
    """KIS refused the call for exceeding the per-second limit (EGW00201, EGW00215).

    On an order this means the order was **not** accepted: safe to show and to try later.
    """


class TokenExpired(KisError):
    """The access token is expired or invalid (EGW00123, EGW00121); the client renews it."""


class TokenIssueTooSoon(KisError):
    """A token may be issued once a minute per app key (EGW00133, docs/kis-protocol.md §2.1)."""

    def __init__(self, code: str, message: str, *, retry_after_s: float) -> None:
        super().__init__(code, message)
        self.retry_after_s = retry_after_s


class InvalidCredential(KisError):
    """The app key or secret is wrong, or belongs to the other environment (EGW00103/105)."""


class Rejected(KisError):
    """A definite refusal from KIS (``rt_cd`` != ``"0"``), e.g. insufficient cash.

    ``msg_cd`` and ``msg1`` are KIS's names for ``code`` and ``message``.
    """

    @property
    def msg_cd(self) -> str:
        return self.code

    @property
    def msg1(self) -> str:
        return self.message


class OutcomeUnknown(KisError):
    """An order was sent but its answer was lost (timeout, 5xx without a KIS verdict,
    dropped connection, EGW00301/302). The order may or may not exist at KIS: reconcile
    against daily executions, never resend blindly (DESIGN.md "Orders")."""


class UpstreamUnavailable(KisError):
    """A read kept failing with transient errors after the bounded retries."""


class MalformedAnswer(KisError):
    """KIS answered something that is not the documented envelope."""


class NotSupported(KisError):
    """The operation does not exist in this environment (e.g. revisable orders on paper,
    docs/kis-protocol.md §4.1, §9)."""


class RealtimeError(KisError):
    """A realtime control message refused a request (OPSP codes, docs/kis-protocol.md §7.6)."""


class SubscriptionLimitReached(RealtimeError):
    """The session already holds the maximum registrations (41, docs/kis-protocol.md §6)."""


class SessionClosed(RealtimeError):
    """The realtime session was closed by its owner."""
