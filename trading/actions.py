"""The only writers of the order journal: place, revise, cancel, reconcile.

Every send follows the same three steps, so an order is never lost and never doubled:

1. commit the ``Order`` as ``pending_send`` (the idempotency key is unique per owner: a
   second post of the same ticket finds the first row and sends nothing);
2. call KIS outside any transaction, once (the client never retries an order);
3. move the status with a conditional update from ``pending_send``: ``accepted``,
   ``rejected`` (KIS's code and text) or ``unknown`` (the answer was lost).

``unknown`` rows, and ``pending_send`` rows whose sender is gone, are settled only by
``reconcile`` against KIS's own lists; nothing here ever resends.

**Reconciliation matching rule.** KIS does not echo a client order id, so a journal row is
matched to KIS's daily executions like this:

- a row that knows its KIS order number (``ODNO``) matches the execution row with that
  number (leading zeros ignored) dated the KST day the row was journaled, and takes its
  fills and state (a number may come again on another day: a restarted KIS, or KIS's
  numbering per day, must not hand yesterday's row today's fills);
- a row without one (``unknown``, stale ``pending_send``) matches an execution row that no
  other journal row of the same credential has claimed (a number on its own date), with
  the same symbol, side, quantity, order type and price (``0`` for market-type orders),
  the same original order number for a revise/cancel (none for a new order), and an order
  time from ``MATCH_SKEW`` before the journal row was written to ``MATCH_WINDOW`` after
  it. Identical candidates are taken oldest first by journal rows oldest first;
- no candidate: the row stays ``unknown`` until it is ``NOT_RECEIVED_AFTER`` old and KIS's
  list was complete; then KIS did not receive it and it is ``rejected`` (``NOT_RECEIVED``).

Orders of earlier days (a reconcile after the night, or after KIS restarted): the list is
read from the oldest unsettled order's own KST date to today, so each is matched in its own
date's rows, never judged by today's list alone; a day order still open when its session
ended has lapsed, KIS lists it with nothing remaining, and it becomes ``cancelled``
(tests/faults/test_sim_restart_new_day.py).

Limits: two identical orders (same symbol, side, quantity, type, price) placed within the
window are interchangeable, so their fills may be attributed to each other (the position
is right either way). Same-day lists can lag at KIS; an order that appears after
``NOT_RECEIVED_AFTER`` would be missed. US rows are matched without the time window
(``ord_tmd`` of the overseas list is not reliably in one time zone) but within the order's
New York date and the day before.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import audit
from accounts.actions import may_use
from accounts.kis import call_kis
from accounts.models import Credential
from accounts.secrets import SecretUnavailable
from kisweb.kis import (
    Execution,
    KisClient,
    KisError,
    OrderAck,
    OrderType,
    OutcomeUnknown,
    Side,
    UsExchange,
    UsExecution,
    UsOrderType,
    Venue,
)
from trading import rules
from trading.models import Order

log = logging.getLogger(__name__)
T = TypeVar("T")
Status = Order.Status

ORDER_TIMEOUT_S = 8.0  # an order's HTTP answer; past it the outcome is unknown
PENDING_STALE_AFTER = dt.timedelta(seconds=15)  # a sender alive would have answered by now
MATCH_SKEW = dt.timedelta(seconds=5)  # clocks of this host and KIS may differ this much
MATCH_WINDOW = dt.timedelta(minutes=2)
NOT_RECEIVED_AFTER = dt.timedelta(minutes=2)
NOT_RECEIVED = "NOT_RECEIVED"
NEW_YORK = dt.timezone(dt.timedelta(hours=-5))  # dates only: a day's slack covers DST


# The crash tests' pause points (tests/trading/test_crash.py). With KISWEB_TRADING_PAUSE_AT
# set to "journaled" (the row is committed, KIS not called yet) or "sent" (KIS answered, the
# status not written yet), the sender says so on stderr and waits there, so a test can
# SIGKILL it at exactly that moment. Unset, as everywhere but those tests, it costs one
# dictionary lookup. It never changes what is sent.
PAUSE_ENV = "KISWEB_TRADING_PAUSE_AT"
PAUSE_MAX_S = 60.0


def _pause_point(name: str, order: Order) -> None:
    if os.environ.get(PAUSE_ENV) != name:
        return
    print(f"kisweb-pause {name} {order.client_order_id}", file=sys.stderr, flush=True)
    time.sleep(PAUSE_MAX_S)


class TradingRefused(Exception):
    """The order cannot be sent at all (credential, ownership, nothing left to cancel)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Ticket:
    """What a person chose on the order ticket, already checked by ``trading.rules``."""

    market: str
    venue: str
    side: str
    order_type: str
    symbol: str
    quantity: int
    price: Decimal
    idempotency_key: str
    symbol_name: str = ""


@dataclass(frozen=True)
class Placed:
    order: Order
    created: bool  # False: the same key was posted before; ``order`` is that first order


@dataclass
class Reconciled:
    checked: int = 0
    changed: list[Order] = field(default_factory=list)
    complete: bool = True
    error: KisError | None = None


def ensure_can_trade(user: User, credential: Credential) -> None:
    if credential.owner_id != user.pk:
        raise TradingRefused(_("This credential is not yours."))
    if not credential.is_enabled:
        raise TradingRefused(_("This credential is disabled. Enable it first."))
    if not may_use(user, credential):
        raise TradingRefused(
            _("Real-money credentials need two-factor sign-in. Set it up, then try again.")
        )
    if credential.verified_at is None:
        raise TradingRefused(_("Verify this credential with KIS before trading with it."))


def new_client_order_id() -> str:
    return secrets.token_hex(6).upper()


# ---------------------------------------------------------------- sending


def place_order(
    user: User, credential: Credential, ticket: Ticket, *, ip: str | None = None
) -> Placed:
    """Journal and send one new order; the same idempotency key twice sends once."""
    ensure_can_trade(user, credential)
    order = Order(
        client_order_id=new_client_order_id(),
        idempotency_key=ticket.idempotency_key,
        owner_id=user.pk,
        credential=credential,
        environment=credential.environment,
        market=ticket.market,
        venue=ticket.venue,
        side=ticket.side,
        order_type=ticket.order_type,
        symbol=ticket.symbol,
        symbol_name=ticket.symbol_name,
        price=ticket.price if rules.needs_price(ticket.order_type, ticket.market) else Decimal(0),
        quantity=ticket.quantity,
    )
    created = _journal(user, order, "trading.order_submitted", ip)
    if created is not None:
        return Placed(created, created=False)
    return Placed(_send(user, order, ip, lambda client: _send_new(client, order)), created=True)


def cancel_order(
    user: User, original: Order, *, idempotency_key: str, ip: str | None = None
) -> Placed:
    """Cancel what remains of an open order, journaled like a new order."""
    return _amend(user, original, Order.Kind.CANCEL, idempotency_key, ip)


def revise_order(
    user: User,
    original: Order,
    *,
    price: Decimal,
    idempotency_key: str,
    ip: str | None = None,
) -> Placed:
    """Move what remains of an open limit order to a new price."""
    return _amend(user, original, Order.Kind.REVISE, idempotency_key, ip, price=price)


def _amend(
    user: User,
    original: Order,
    kind: str,
    idempotency_key: str,
    ip: str | None,
    *,
    price: Decimal | None = None,
) -> Placed:
    if original.owner_id != user.pk:
        raise TradingRefused(_("This order is not yours."))
    ensure_can_trade(user, original.credential)
    if not original.is_open or original.remaining_quantity <= 0:
        raise TradingRefused(_("This order has nothing left to revise or cancel."))
    order = Order(
        client_order_id=new_client_order_id(),
        idempotency_key=idempotency_key,
        owner_id=user.pk,
        credential=original.credential,
        environment=original.environment,
        kind=kind,
        original=original,
        market=original.market,
        venue=original.venue,
        side=original.side,
        order_type=original.order_type,
        symbol=original.symbol,
        symbol_name=original.symbol_name,
        price=original.price if price is None else price,
        quantity=original.remaining_quantity,
    )
    action = (
        "trading.order_cancel_submitted"
        if kind == Order.Kind.CANCEL
        else ("trading.order_revise_submitted")
    )
    existing = _journal(user, order, action, ip)
    if existing is not None:
        return Placed(existing, created=False)

    async def send(client: KisClient) -> OrderAck:
        if original.market == Order.Market.US:  # TTTT1004U / VTTT1004U (§4.3)
            exchange = UsExchange(original.venue)
            if kind == Order.Kind.CANCEL:
                return await client.us_cancel(
                    original.kis_order_no,
                    original.symbol,
                    quantity=order.quantity,
                    exchange=exchange,
                )
            return await client.us_revise(
                original.kis_order_no,
                original.symbol,
                price=order.price,
                quantity=order.quantity,
                exchange=exchange,
            )
        venue = Venue(original.venue)  # revised and cancelled where it was sent
        if kind == Order.Kind.CANCEL:
            return await client.cancel(original.kis_order_no, original.kis_branch_no, venue=venue)
        return await client.revise(
            original.kis_order_no,
            original.kis_branch_no,
            price=order.price,
            order_type=OrderType(order.order_type),
            venue=venue,
        )

    return Placed(_send(user, order, ip, send), created=True)


def _journal(user: User, order: Order, action: str, ip: str | None) -> Order | None:
    """Commit ``order`` as ``pending_send`` with its audit event. Returns the earlier order
    when its idempotency key was used before (then nothing is written)."""
    try:
        with transaction.atomic():
            order.save(force_insert=True)
            audit.record(user, action, order, ip=ip, **_audit_detail(order))
    except IntegrityError:
        existing = Order.objects.owned_by(user).filter(idempotency_key=order.idempotency_key)
        first = existing.first()
        if first is None:  # the insert failed for another reason
            raise
        return first
    return None


def _send(
    user: User,
    order: Order,
    ip: str | None,
    send: Callable[[KisClient], Awaitable[OrderAck]],
) -> Order:
    """Step 2 and 3: one call to KIS, then the conditional status update."""
    _pause_point("journaled", order)
    try:
        ack = _run(order.credential, send)
        _pause_point("sent", order)
    except OutcomeUnknown as lost:
        _settle(user, order, ip, Status.UNKNOWN, kis_message=f"{lost.code}: {lost.message}"[:200])
    except KisError as refusal:
        # Every other KIS error means the order did not run (errors.py, client.py).
        _settle(
            user,
            order,
            ip,
            Status.REJECTED,
            reject_code=refusal.code[:16],
            reject_text=refusal.message[:200],
        )
    except SecretUnavailable:
        _settle(
            user,
            order,
            ip,
            Status.REJECTED,
            reject_code="SECRET",
            reject_text="The app secret cannot be opened; enter it again.",
        )
    except Exception:
        # Nobody knows whether the request left: reconcile decides, nothing resends.
        log.exception("order %s: sending failed unexpectedly", order.client_order_id)
        _settle(user, order, ip, Status.UNKNOWN, kis_message="kisweb error while sending")
    else:
        _settle(
            user,
            order,
            ip,
            Status.ACCEPTED,
            kis_order_no=ack.order_no,
            kis_branch_no=ack.branch_no,
            kis_message=ack.message[:200],
        )
    return order


def _settle(user: User, order: Order, ip: str | None, status: str, **fields: str) -> bool:
    """Move ``order`` out of ``pending_send`` and write its audit event in one commit (one
    fsync); False when reconciliation got there first (then ``order`` is reread)."""
    now = timezone.now()
    changes: dict[str, Any] = {"status": status, "sent_at": now, "updated_at": now, **fields}
    with transaction.atomic():
        moved = Order.objects.filter(pk=order.pk, status=Status.PENDING_SEND).update(**changes)
        if moved:
            for name, value in changes.items():
                setattr(order, name, value)
        else:
            order.refresh_from_db()
        audit.record(user, f"trading.order_{order.status}", order, ip=ip, **_audit_detail(order))
    return bool(moved)


async def _send_new(client: KisClient, order: Order) -> OrderAck:
    if order.market == Order.Market.US:
        send_us = client.us_buy if order.side == Order.Side.BUY else client.us_sell
        return await send_us(
            order.symbol,
            order.quantity,
            order.price,
            UsExchange(order.venue),
            UsOrderType(order.order_type),
        )
    send = client.buy if order.side == Order.Side.BUY else client.sell
    order_type = OrderType(order.order_type)
    price = order.price if order_type.needs_price else None
    return await send(order.symbol, order.quantity, price, order_type, Venue(order.venue))


def _run(credential: Credential, work: Callable[[KisClient], Awaitable[T]]) -> T:
    return call_kis(credential, work, timeout_s=ORDER_TIMEOUT_S)


def read_kis(credential: Credential, work: Callable[[KisClient], Awaitable[T]]) -> T:
    """Run reads against KIS for ``credential`` (views use this for quotes and balances)."""
    return call_kis(credential, work)


def _audit_detail(order: Order) -> dict[str, Any]:
    return {
        "client_order_id": order.client_order_id,
        "kind": order.kind,
        "symbol": order.symbol,
        "side": order.side,
        "order_type": order.order_type,
        "quantity": order.quantity,
        "price": str(order.price),
        "status": order.status,
        "kis_order_no": order.kis_order_no,
        "reject_code": order.reject_code,
        "environment": order.environment,
    }


# ---------------------------------------------------------------- reconciliation


def reconcile(
    credential: Credential,
    *,
    user: User | None = None,
    now: dt.datetime | None = None,
    ip: str | None = None,
) -> Reconciled:
    """Settle the credential's unresolved orders against KIS's daily executions. Bounded:
    one list per market (all its pages) whatever the number of orders."""
    now = now or timezone.now()
    orders = [
        order
        for order in Order.objects.filter(credential=credential)
        .unresolved()
        .select_related("original")
        .order_by("created_at")
        if order.status != Status.PENDING_SEND or now - order.created_at > PENDING_STALE_AFTER
    ]
    result = Reconciled(checked=len(orders))
    if not orders:
        return result
    # KIS numbers domestic orders per trading day (a number may come again another day):
    # a number is claimed on its own date. US rows keep one number across their dates.
    claimed: set[tuple[dt.date, str]] = set()
    claimed_us: set[str] = set()
    for market, number, created_at in (
        Order.objects.filter(credential=credential)
        .exclude(kis_order_no="")
        .values_list("market", "kis_order_no", "created_at")
    ):
        if market == Order.Market.US:
            claimed_us.add(_norm(number))
        else:
            claimed.add((_kis_day(created_at), _norm(number)))
    domestic = [o for o in orders if o.market == Order.Market.KRX]
    us = [o for o in orders if o.market == Order.Market.US]
    try:
        rows, us_rows, complete = _run_reads(credential, domestic, us, now)
    except KisError as error:
        result.error = error
        result.complete = False
        return result
    except SecretUnavailable:
        result.error = KisError("SECRET", "The app secret cannot be opened.")
        result.complete = False
        return result
    result.complete = complete
    for order in domestic:
        row = _match_domestic(order, rows, claimed)
        state = _domestic_state(order, row) if row is not None else None
        if _apply(order, state, now, complete):
            result.changed.append(order)
    for order in us:
        us_row = _match_us(order, us_rows, claimed_us)
        us_state = _us_state(us_row) if us_row is not None else None
        if _apply(order, us_state, now, complete=True):
            result.changed.append(order)
    actor = user or credential.owner
    for order in result.changed:
        audit.record(actor, "trading.order_reconciled", order, ip=ip, **_audit_detail(order))
    return result


def _run_reads(
    credential: Credential, domestic: list[Order], us: list[Order], now: dt.datetime
) -> tuple[list[Execution], list[UsExecution], bool]:
    async def read(client: KisClient) -> tuple[list[Execution], list[UsExecution], bool]:
        rows: list[Execution] = []
        us_rows: list[UsExecution] = []
        complete = True
        today = now.astimezone(rules.KST).date()
        if domestic:
            start = min(o.created_at.astimezone(rules.KST).date() for o in domestic)
            executions = await client.daily_executions(start, today)
            rows, complete = _distinct(executions.rows), executions.complete
        if us:
            start = min(o.created_at.astimezone(NEW_YORK).date() for o in us)
            us_rows = await client.us_executions(start - dt.timedelta(days=1), today)
        return rows, us_rows, complete

    return call_kis(credential, read)


def _distinct(rows: Iterable[Execution]) -> list[Execution]:
    """Each KIS order once: a list read while it changed can repeat a row across pages."""
    seen: set[tuple[dt.date, str]] = set()
    kept = []
    for row in rows:
        key = (row.order_date, _norm(row.order_no))
        if key not in seen:
            seen.add(key)
            kept.append(row)
    return kept


def _norm(order_no: str) -> str:
    return order_no.strip().lstrip("0")


@dataclass(frozen=True)
class _KisState:
    order_no: str
    branch_no: str
    status: str
    filled_quantity: int
    average_price: Decimal
    name: str


def _kis_day(journaled: dt.datetime) -> dt.date:
    """The KST date KIS files an order under: the day it was journaled (KRX takes no orders
    around midnight, so the journal write and KIS's order time share a date)."""
    return journaled.astimezone(rules.KST).date()


def _match_domestic(
    order: Order, rows: Iterable[Execution], claimed: set[tuple[dt.date, str]]
) -> Execution | None:
    if order.kis_order_no:
        wanted = (_kis_day(order.created_at), _norm(order.kis_order_no))
        return next((row for row in rows if (row.order_date, _norm(row.order_no)) == wanted), None)
    earliest = order.created_at - MATCH_SKEW
    latest = order.created_at + MATCH_WINDOW
    original_no = _norm(order.original.kis_order_no) if order.original else ""
    price = order.price if rules.needs_price(order.order_type, order.market) else Decimal(0)
    candidates = [
        row
        for row in rows
        if (row.order_date, _norm(row.order_no)) not in claimed
        and row.symbol == order.symbol
        and row.side == Side(order.side)
        and row.quantity == order.quantity
        and (not row.order_type or row.order_type == order.order_type)
        and (order.kind == Order.Kind.CANCEL or row.price == price)
        and _norm(row.original_order_no) == original_no
        and row.cancelled == (order.kind == Order.Kind.CANCEL)
        and row.time is not None
        and earliest <= dt.datetime.combine(row.order_date, row.time, tzinfo=rules.KST) <= latest
    ]
    if not candidates:
        return None
    chosen = min(candidates, key=lambda row: (row.order_date, row.time or dt.time.min))
    claimed.add((chosen.order_date, _norm(chosen.order_no)))
    return chosen


def _match_us(order: Order, rows: Iterable[UsExecution], claimed: set[str]) -> UsExecution | None:
    if order.kis_order_no:
        wanted = _norm(order.kis_order_no)
        return next((row for row in rows if _norm(row.order_no) == wanted), None)
    day = order.created_at.astimezone(NEW_YORK).date()
    candidates = [
        row
        for row in rows
        if _norm(row.order_no) not in claimed
        and row.symbol == order.symbol
        and row.side == Side(order.side)
        and row.quantity == order.quantity
        and row.price == order.price
        and not row.original_order_no.strip("0")
        and day - dt.timedelta(days=1) <= row.order_date <= day + dt.timedelta(days=1)
    ]
    if not candidates:
        return None
    chosen = min(candidates, key=lambda row: (row.order_date, row.time or dt.time.min))
    claimed.add(_norm(chosen.order_no))
    return chosen


def _domestic_state(order: Order, row: Execution) -> _KisState:
    if order.kind == Order.Kind.CANCEL:
        status = Status.ACCEPTED  # a cancel row holds no quantity; the original shows it
    elif row.rejected_quantity >= row.quantity:
        status = Status.REJECTED
    elif row.filled_quantity >= row.quantity:
        status = Status.FILLED
    elif row.remaining_quantity > 0:
        status = Status.PARTIALLY_FILLED if row.filled_quantity else Status.ACCEPTED
    else:
        status = Status.CANCELLED  # nothing left and not all filled: cancelled or lapsed
    return _KisState(
        row.order_no, row.branch_no, status, row.filled_quantity, row.average_price, row.name
    )


def _us_state(row: UsExecution) -> _KisState:
    if row.filled_quantity >= row.quantity:
        status = Status.FILLED
    elif row.unfilled_quantity > 0:
        status = Status.PARTIALLY_FILLED if row.filled_quantity else Status.ACCEPTED
    elif row.rejection_reason:
        status = Status.REJECTED
    else:
        status = Status.CANCELLED
    return _KisState(row.order_no, "", status, row.filled_quantity, row.filled_price, row.name)


def _fill_fields(order: Order, state: _KisState) -> dict[str, object]:
    """KIS's list and the notices received are both lower bounds of what has filled (a list
    can be older than a notice; a notice can be lost): the journal shows the larger, so a
    fill counted by both is counted once and no figure ever moves backwards."""
    status, filled, average = state.status, state.filled_quantity, state.average_price
    if order.notice_filled_quantity > filled and order.kind != Order.Kind.CANCEL:
        filled = order.notice_filled_quantity
        average = order.notice_fill_amount / filled
        if filled >= order.quantity:
            status = Status.FILLED
        elif status in (Status.ACCEPTED, Status.UNKNOWN, Status.PENDING_SEND):
            status = Status.PARTIALLY_FILLED
    return {
        "status": status,
        "filled_quantity": filled,
        "average_fill_price": average.quantize(Decimal("0.0001")),
    }


def _apply(order: Order, state: _KisState | None, now: dt.datetime, complete: bool) -> bool:
    """One conditional update from the status this run read; False if nothing moved."""
    fields: dict[str, object] = {}
    if state is None:
        if order.kis_order_no or not complete or now - order.created_at < NOT_RECEIVED_AFTER:
            if order.status == Status.PENDING_SEND:
                fields["status"] = Status.UNKNOWN  # no live sender: KIS's lists decide
            else:
                return False
        else:
            fields = {
                "status": Status.REJECTED,
                "reject_code": NOT_RECEIVED,
                "reject_text": "KIS has no record of this order: it was not received.",
            }
    else:
        fields = _fill_fields(order, state)
        if not order.symbol_name and state.name:
            fields["symbol_name"] = state.name[:100]
        if not order.kis_order_no:
            fields["kis_order_no"] = state.order_no
            fields["kis_branch_no"] = state.branch_no
        unchanged = all(getattr(order, name) == value for name, value in fields.items())
        if unchanged:
            Order.objects.filter(pk=order.pk).update(reconciled_at=now)
            return False
    # Also conditional on the notices' figures: a notice applied since this run read the row
    # must not be overwritten by an older list (the next run takes both).
    moved = Order.objects.filter(
        pk=order.pk, status=order.status, notice_filled_quantity=order.notice_filled_quantity
    ).update(reconciled_at=now, updated_at=now, **fields)
    if moved:
        order.refresh_from_db()
    return bool(moved)
