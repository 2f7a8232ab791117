"""Simulated KIS customers: one app key, one account, one HTS ID each.

KIS issues app keys per environment (docs/kis-protocol.md §1): a paper key works only on the paper
host. python-kis validates the lengths, so the keys here are exactly 36 and 180 chars.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

ENVS = ("real", "paper")
APPKEY_LEN = 36
APPSECRET_LEN = 180


@dataclass
class SimAccount:
    """Credentials and opening balances of one simulated customer."""

    appkey: str
    appsecret: str
    env: str
    cano: str
    acnt_prdt_cd: str = "01"
    hts_id: str = "demo"
    cash_krw: Decimal = Decimal("100000000")
    cash_usd: Decimal = Decimal("0")
    name: str = "홍길동"
    holdings: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.env not in ENVS:
            raise ValueError(f"env must be one of {ENVS}, not {self.env!r}")
        self.cash_krw = Decimal(str(self.cash_krw))
        self.cash_usd = Decimal(str(self.cash_usd))

    @property
    def account_no(self) -> str:
        return f"{self.cano}{self.acnt_prdt_cd}"


def _derived(seed: str, prefix: str, length: int) -> str:
    """A deterministic key of exactly `length` chars that starts with `prefix`."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    out = prefix
    counter = 0
    while len(out) < length:
        digest = hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        out += "".join(alphabet[b % len(alphabet)] for b in digest)
        counter += 1
    return out[:length]


def make_account(
    env: str = "paper",
    *,
    hts_id: str | None = None,
    cano: str | None = None,
    cash_krw: Decimal | int | str = 100_000_000,
    cash_usd: Decimal | int | str = 0,
    acnt_prdt_cd: str = "01",
    name: str = "테스트",
    holdings: dict[str, int] | None = None,
) -> SimAccount:
    """A fresh random customer with keys of KIS's lengths (paper `PS…`, real `PR…`)."""
    token = secrets.token_hex(8)
    prefix = "PS" if env == "paper" else "PR"
    return SimAccount(
        appkey=_derived(token + "k", prefix, APPKEY_LEN),
        appsecret=_derived(token + "s", "", APPSECRET_LEN),
        env=env,
        cano=cano or f"{(5 if env == 'paper' else 6)}{secrets.randbelow(10**7):07d}",
        acnt_prdt_cd=acnt_prdt_cd,
        hts_id=hts_id or f"u{token[:7]}",
        cash_krw=Decimal(str(cash_krw)),
        cash_usd=Decimal(str(cash_usd)),
        name=name,
        holdings=dict(holdings or {}),
    )


DEMO_ACCOUNTS: tuple[SimAccount, ...] = (
    SimAccount(
        appkey=_derived("kisweb-demo-paper-appkey", "PS", APPKEY_LEN),
        appsecret=_derived("kisweb-demo-paper-appsecret", "", APPSECRET_LEN),
        env="paper",
        cano="50000001",
        acnt_prdt_cd="01",
        hts_id="demo",
        cash_krw=Decimal("100000000"),
        cash_usd=Decimal("50000.00"),
        name="데모모의",
    ),
    SimAccount(
        appkey=_derived("kisweb-demo-real-appkey", "PR", APPKEY_LEN),
        appsecret=_derived("kisweb-demo-real-appsecret", "", APPSECRET_LEN),
        env="real",
        cano="60000001",
        acnt_prdt_cd="01",
        hts_id="demoreal",
        cash_krw=Decimal("100000000"),
        cash_usd=Decimal("50000.00"),
        name="데모실전",
    ),
)


def load_accounts(path: str | Path) -> list[SimAccount]:
    """Read the `--accounts FILE` JSON list (keys as in SimAccount)."""
    rows = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(rows, list):
        raise ValueError("accounts file must hold a JSON list of objects")
    allowed = set(SimAccount.__dataclass_fields__)
    accounts = []
    for row in rows:
        unknown = set(row) - allowed
        if unknown:
            raise ValueError(f"unknown account keys: {sorted(unknown)}")
        accounts.append(SimAccount(**row))
    return accounts
