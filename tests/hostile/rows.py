"""The rows a form can change, as values, and what changed between two snapshots.

A refused form changes nothing but the records that exist to count refusals: a failed
sign-in in the audit log, django-axes' attempt rows, a TOTP device's failure throttle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import User
from django.db import models
from django_otp.plugins.otp_totp.models import TOTPDevice  # type: ignore[import-untyped]

from accounts.models import AuditEvent, Credential, KisToken
from market.models import Symbol, Watchlist, WatchlistItem
from trading.models import FeeSettings, MarketDay, Order

MODELS: tuple[type[models.Model], ...] = (
    User,
    Credential,
    KisToken,
    AuditEvent,
    Order,
    FeeSettings,
    MarketDay,
    Watchlist,
    WatchlistItem,
    Symbol,
    TOTPDevice,
    AccessAttempt,
    AccessFailureLog,
    AccessLog,
)
# Columns that move on every visit and say nothing about what a form did.
IGNORED_COLUMNS = {"User": {"last_login"}}
THROTTLE_COLUMNS = {"throttling_failure_timestamp", "throttling_failure_count"}
REFUSAL_RECORDS = {"AccessAttempt", "AccessFailureLog", "AccessLog"}
REFUSAL_AUDIT = {AuditEvent.Action.SIGN_IN_FAILED, AuditEvent.Action.CREDENTIAL_VERIFY_FAILED}

Rows = dict[str, dict[Any, dict[str, Any]]]


def snapshot() -> Rows:
    rows: Rows = {}
    for model in MODELS:
        ignored = IGNORED_COLUMNS.get(model.__name__, set())
        columns = [f.attname for f in model._meta.concrete_fields if f.attname not in ignored]
        rows[model.__name__] = {
            values["pk"]: values
            for values in model.objects.values("pk", *columns).order_by("pk").iterator()
        }
    return rows


@dataclass
class TableChange:
    added: dict[Any, dict[str, Any]] = field(default_factory=dict)
    removed: dict[Any, dict[str, Any]] = field(default_factory=dict)
    changed: dict[Any, set[str]] = field(default_factory=dict)  # pk -> changed columns
    after: dict[Any, dict[str, Any]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def diff(before: Rows, after: Rows) -> dict[str, TableChange]:
    """Only the tables that changed."""
    changes = {}
    for table, old in before.items():
        new = after[table]
        change = TableChange(
            added={pk: row for pk, row in new.items() if pk not in old},
            removed={pk: row for pk, row in old.items() if pk not in new},
            changed={
                pk: {column for column, value in row.items() if old[pk][column] != value}
                for pk, row in new.items()
                if pk in old and old[pk] != row
            },
            after=new,
        )
        if change:
            changes[table] = change
    return changes


def beyond_refusal_records(changes: dict[str, TableChange]) -> dict[str, TableChange]:
    """What is left once the records of a refusal are set aside."""
    left = {}
    for table, change in changes.items():
        if table in REFUSAL_RECORDS:
            continue
        if table == "AuditEvent":
            change = TableChange(
                added={
                    pk: row
                    for pk, row in change.added.items()
                    if row["action"] not in REFUSAL_AUDIT
                },
                removed=change.removed,
                changed=change.changed,
            )
        elif table == "TOTPDevice":
            change = TableChange(
                added=change.added,
                removed=change.removed,
                changed={
                    pk: cols - THROTTLE_COLUMNS
                    for pk, cols in change.changed.items()
                    if cols - THROTTLE_COLUMNS
                },
            )
        if change:
            left[table] = change
    return left


def describe(changes: dict[str, TableChange]) -> str:
    parts = []
    for table, change in changes.items():
        changed = {pk: sorted(columns) for pk, columns in change.changed.items()}
        parts.append(f"{table}: +{list(change.added)} -{list(change.removed)} ~{changed}")
    return "; ".join(parts)
