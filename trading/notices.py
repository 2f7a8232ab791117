"""Execution notices into the order journal (the relay calls this, tab or no tab).

A notice names its order by KIS's order number, so only rows that know their number (and
were journaled today: numbers come again on other days) are moved; a row still waiting
for its HTTP answer is left to ``trading.actions.reconcile``.
Every move is a conditional update from the state this call read (status, and for a fill
the filled quantity), retried a few times if another writer moved the row first, and
never backwards: a late "accepted" does not undo a fill, a final row is not touched.

A fill notice carries no fill id, so it cannot be matched against the fills ``reconcile``
read from KIS's daily list. The row keeps the notices' own sum beside the journal's
figure, and the journal shows the larger of the two lower bounds: a fill that both
reconcile and its notice report is counted once. The cost: after a reconcile, the
notices of fills it had already counted hold back later ones until the notices' sum passes
the list's figure again, and the next reconcile (page load, button, worker) catches up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from kisweb.kis.realtime import ExecutionNotice
from kisweb.kis.realtime.events import NoticeAction
from trading.models import Order
from trading.rules import KST

Status = Order.Status
_ATTEMPTS = 3
_BEFORE_ACCEPT = (Status.PENDING_SEND, Status.UNKNOWN)
DOMESTIC_NOTICES = "H0STCNI"  # H0STCNI0 real, H0STCNI9 paper; US notices are H0GSCNI0/9
_OPEN = (Status.PENDING_SEND, Status.UNKNOWN, Status.ACCEPTED, Status.PARTIALLY_FILLED)


@dataclass(frozen=True)
class NoticeResult:
    order_id: str | None  # the journal row the notice names, if this credential has it
    name: str  # the symbol's name as the journal or the notice has it
    changed: bool


def _norm(order_no: str) -> str:
    return order_no.strip().lstrip("0")


def _since(notice: ExecutionNotice) -> dt.datetime:
    """The oldest journal row a live notice can be about: KIS's order numbers come again
    on other days (a restarted KIS, its numbering per day), and notices are today's. A
    domestic order is today's by the KST date; a US session runs across KST midnight, so
    a US notice may be about an order journaled the KST day before."""
    today = timezone.now().astimezone(KST).date()
    if not notice.tr_id.startswith(DOMESTIC_NOTICES):
        today -= dt.timedelta(days=1)
    return dt.datetime.combine(today, dt.time.min, tzinfo=KST)


def _find(credential_id: str, order_no: str, since: dt.datetime) -> Order | None:
    wanted = _norm(order_no)
    if not wanted:
        return None
    rows = Order.objects.filter(
        credential_id=credential_id, kis_order_no__endswith=wanted, created_at__gte=since
    )
    return next((row for row in rows if _norm(row.kis_order_no) == wanted), None)


def _move(order: Order, expected: dict[str, object], **fields: object) -> bool:
    now = timezone.now()
    return bool(Order.objects.filter(pk=order.pk, **expected).update(updated_at=now, **fields))


def apply_notice(credential_id: str, notice: ExecutionNotice) -> NoticeResult:
    """Apply one decrypted notice of ``credential_id``'s account to its journal."""
    changed = False
    order: Order | None = None
    for _ in range(_ATTEMPTS):
        order = _find(credential_id, notice.order_no, _since(notice))
        if order is None:
            break
        moved = _apply_once(order, notice)
        if moved is not None:
            changed = moved
            break
    name = (order.symbol_name if order else "") or notice.symbol_name
    if notice.action is NoticeAction.CANCEL and not notice.rejected:
        original = _find(credential_id, notice.original_order_no, _since(notice))
        if original is not None and original.status in (Status.ACCEPTED, Status.PARTIALLY_FILLED):
            changed |= _move(original, {"status": original.status}, status=Status.CANCELLED)
    return NoticeResult(str(order.pk) if order else None, name, changed)


def _apply_once(order: Order, notice: ExecutionNotice) -> bool | None:
    """True moved, False nothing to do, None lost a race (read again and retry)."""
    if order.status in Order.FINAL:
        return False
    if notice.rejected:
        ok = _move(
            order,
            {"status": order.status},
            status=Status.REJECTED,
            reject_text="KIS rejected the order (execution notice).",
        )
        return True if ok else None
    if notice.is_fill and order.kind != Order.Kind.CANCEL:
        if notice.quantity <= 0:
            return False
        by_notices = min(order.quantity, order.notice_filled_quantity + notice.quantity)
        if by_notices == order.notice_filled_quantity:
            return False
        amount = order.notice_fill_amount + notice.price * (
            by_notices - order.notice_filled_quantity
        )
        fields: dict[str, object] = {
            "notice_filled_quantity": by_notices,
            "notice_fill_amount": amount,
        }
        if by_notices > order.filled_quantity:
            fields["filled_quantity"] = by_notices
            fields["average_fill_price"] = (amount / by_notices).quantize(Decimal("0.0001"))
            fields["status"] = (
                Status.FILLED if by_notices >= order.quantity else Status.PARTIALLY_FILLED
            )
        ok = _move(
            order,
            {
                "status": order.status,
                "filled_quantity": order.filled_quantity,
                "notice_filled_quantity": order.notice_filled_quantity,
            },
            **fields,
        )
        return True if ok else None
    if order.status in _BEFORE_ACCEPT:
        ok = _move(order, {"status": order.status}, status=Status.ACCEPTED)
        return True if ok else None
    return False
