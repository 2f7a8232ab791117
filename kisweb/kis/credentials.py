"""Who is calling and where: environments, hosts and one credential (docs/kis-protocol.md §1)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Environment(enum.StrEnum):
    """Real (실전투자) or paper (모의투자, VTS). App keys belong to exactly one of them."""

    REAL = "real"
    PAPER = "paper"

    @property
    def rest_url(self) -> str:
        """KIS's REST base for this environment (docs/kis-protocol.md §1)."""
        return _REST_URLS[self]

    @property
    def ws_url(self) -> str:
        """KIS's realtime WebSocket (plain ``ws://``; the current official client uses
        ``/tryitout``, docs/kis-protocol.md §1)."""
        return _WS_URLS[self]


_REST_URLS = {
    Environment.REAL: "https://openapi.koreainvestment.com:9443",
    Environment.PAPER: "https://openapivts.koreainvestment.com:29443",
}
_WS_URLS = {
    Environment.REAL: "ws://ops.koreainvestment.com:21000/tryitout",
    Environment.PAPER: "ws://ops.koreainvestment.com:31000/tryitout",
}


@dataclass(frozen=True, slots=True)
class KisCredentials:
    """One KIS credential: app key pair, account (``CANO`` + ``ACNT_PRDT_CD``), HTS ID
    (the ``tr_key`` of execution notices, docs/kis-protocol.md §7.1) and environment.

    The secret never appears in ``repr()``.
    """

    app_key: str
    app_secret: str = field(repr=False)
    account_no: str
    product_code: str = "01"
    hts_id: str = ""
    env: Environment = Environment.PAPER

    def __post_init__(self) -> None:
        # isascii(): str.isdigit() also accepts full-width and other scripts' digits,
        # which KIS's ASCII headers and bodies cannot carry.
        if not (
            len(self.account_no) == 8 and self.account_no.isascii() and self.account_no.isdigit()
        ):
            raise ValueError("account_no must be the 8-digit CANO")
        if not (
            len(self.product_code) == 2
            and self.product_code.isascii()
            and self.product_code.isdigit()
        ):
            raise ValueError("product_code must be the 2-digit ACNT_PRDT_CD")
        object.__setattr__(self, "env", Environment(self.env))
