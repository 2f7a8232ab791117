"""The background tasks and the worker's duties, called in-process on the test database
(the real worker process has its own test: test_worker_hosted.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from accounts import tasks as account_tasks
from accounts.actions import verify_credential
from accounts.models import KisToken
from kisweb.ops import heartbeat, worker
from kisweb.ops.models import Heartbeat
from trading import calendar
from trading import tasks as trading_tasks
from trading.models import MarketDay, Order

from .conftest import lost_order, place

pytestmark = pytest.mark.django_db


def queued(task) -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=task.module_path))


def test_the_sweep_queues_one_reconciliation_per_credential_with_unknown_orders(
    sim, alice, credential, bob
):
    lost_order(sim, alice, credential)
    sim.faults.lose_order_answers = 1
    place(alice, credential, price=71100)  # a second unknown order, same credential
    place(alice, credential, price=60000)  # accepted, resting: not the sweep's business

    assert trading_tasks.reconcile_sweep.call() == {"queued": [str(credential.pk)]}
    # Swept again before the worker ran it: still one queued.
    assert trading_tasks.reconcile_sweep.call() == {"queued": []}
    [row] = queued(trading_tasks.reconcile_credential)
    assert row.args_kwargs == {"args": [str(credential.pk)], "kwargs": {}}


def test_a_stale_pending_send_is_swept_and_a_fresh_one_is_not(sim, alice, credential):
    order = place(alice, credential, price=60000)
    Order.objects.filter(pk=order.pk).update(status="pending_send")
    assert trading_tasks.credentials_to_reconcile() == []
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - dt.timedelta(seconds=20))
    assert trading_tasks.credentials_to_reconcile() == [str(credential.pk)]


def test_reconciling_twice_settles_once_and_never_sends(sim, alice, credential):
    order = lost_order(sim, alice, credential)
    first = trading_tasks.reconcile_credential.call(str(credential.pk))
    order.refresh_from_db()
    assert order.status == "filled"
    assert first["changed"] == 1

    again = trading_tasks.reconcile_credential.call(str(credential.pk))
    assert again["changed"] == 0
    assert sim.stats.orders_received(credential.app_key) == 1


def test_a_kis_outage_leaves_the_order_unknown(sim, alice, credential):
    order = lost_order(sim, alice, credential)
    sim.faults.http_500 = True
    result = trading_tasks.reconcile_credential.call(str(credential.pk))
    assert result["error"]
    order.refresh_from_db()
    assert order.status == "unknown"


def test_tokens_near_expiry_are_renewed_and_fresh_ones_left(sim, alice, credential, settings):
    settings.KISWEB_TOKEN_RENEW_AHEAD_MIN = 120

    def asked() -> int:  # tokenP requests at the simulator (it may hand back the live token)
        return len(sim.stats.requests(path="/oauth2/tokenP")) - start

    start = len(sim.stats.requests(path="/oauth2/tokenP"))
    assert account_tasks.tokens_to_renew() == {}
    assert account_tasks.renew_tokens.call() == {"renewed": [], "failed": {}}
    assert asked() == 0

    # An hour left, issued more than a minute ago (KIS's once-a-minute rule), of an owner
    # who signed in lately.
    alice.last_login = timezone.now() - dt.timedelta(hours=3)
    alice.save(update_fields=["last_login"])
    KisToken.objects.filter(credential=credential).update(
        expires_at=timezone.now() + dt.timedelta(hours=1),
        issued_at=timezone.now() - dt.timedelta(hours=23),
    )
    assert account_tasks.renew_tokens.call() == {"renewed": [str(credential.pk)], "failed": {}}
    assert asked() == 1
    token = KisToken.objects.get(credential=credential, kind="access")
    assert token.expires_at > timezone.now() + dt.timedelta(hours=20)
    assert account_tasks.tokens_to_renew() == {}


def test_idle_owners_and_lapsed_tokens_are_left_alone(sim, alice, credential, settings):
    settings.KISWEB_TOKEN_RENEW_AHEAD_MIN = 120
    soon = timezone.now() + dt.timedelta(hours=1)
    KisToken.objects.filter(credential=credential).update(expires_at=soon)
    alice.last_login = timezone.now() - dt.timedelta(days=2)
    alice.save(update_fields=["last_login"])
    assert account_tasks.tokens_to_renew() == {}

    alice.last_login = timezone.now()
    alice.save(update_fields=["last_login"])
    assert account_tasks.tokens_to_renew() == {str(credential.pk): {"access"}}
    KisToken.objects.filter(credential=credential).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    assert account_tasks.tokens_to_renew() == {}


def test_a_schedule_slot_is_won_once_per_period():
    now = timezone.now()
    period = dt.timedelta(seconds=30)
    assert worker.claim_slot("t", period, now) is True
    assert worker.claim_slot("t", period, now + dt.timedelta(seconds=5)) is False
    assert worker.claim_slot("t", period, now + dt.timedelta(seconds=31)) is True
    assert worker.claim_slot("t", period, now + dt.timedelta(seconds=32)) is False


def test_the_schedule_enqueues_each_periodic_task_once():
    assert sorted(worker.run_schedule()) == [
        "accounts.tasks.renew_tokens",
        "kisweb.ops.tasks.prune",
        "trading.tasks.reconcile_sweep",
        "trading.tasks.refresh_holidays",
    ]
    assert worker.run_schedule() == []
    assert len(queued(trading_tasks.reconcile_sweep)) == 1


def test_the_holiday_refresh_asks_with_a_verified_real_credential_or_not_at_all(
    sim, alice, credential, make_credential
):
    def asked() -> int:
        return sum(1 for r in sim.stats.requests() if r.path.endswith("/chk-holiday"))

    before = asked()
    assert trading_tasks.refresh_holidays.call() == {  # alice's is paper: KIS would refuse
        "refreshed": 0,
        "skipped": "no verified real credential",
    }
    assert asked() == before and MarketDay.objects.count() == 0
    real = make_credential(alice, environment="real", label="Alice real")
    assert verify_credential(alice, real).ok
    result = trading_tasks.refresh_holidays.call()
    assert result["refreshed"] == MarketDay.objects.count() > 0
    assert asked() - before == 2  # the calendar's two pages
    assert MarketDay.objects.filter(day=calendar.kst_today()).exists()


def _running(worker_id: str, started_ago_s: float) -> DBTaskResult:
    result = trading_tasks.reconcile_sweep.enqueue()
    row = DBTaskResult.objects.get(pk=result.id)
    row.claim(worker_id)
    DBTaskResult.objects.filter(pk=row.pk).update(
        started_at=timezone.now() - dt.timedelta(seconds=started_ago_s)
    )
    return row


def test_a_dead_workers_task_goes_back_to_the_queue(settings):
    settings.KISWEB_HEARTBEAT_STALE_S = 10
    Heartbeat.objects.create(
        name="worker", instance="dead", at=timezone.now() - dt.timedelta(seconds=60)
    )
    heartbeat.beat("worker", "alive")
    orphan = _running("dead", started_ago_s=30)
    busy = _running("alive", started_ago_s=30)
    just_claimed = _running("dead", started_ago_s=1)

    assert worker.requeue_orphans() == [str(orphan.pk)]
    states = dict(DBTaskResult.objects.values_list("pk", "status"))
    assert states[orphan.pk] == TaskResultStatus.READY
    assert states[busy.pk] == TaskResultStatus.RUNNING
    assert states[just_claimed.pk] == TaskResultStatus.RUNNING
    assert worker.requeue_orphans() == []


# The worker closes the database connection between tasks, as a long-running process
# should; on PostgreSQL that ends a test transaction, so this test commits for real.
@pytest.mark.django_db(transaction=True)
def test_tasks_run_by_the_worker_are_counted_by_outcome():
    from django_tasks_db.management.commands.db_worker import Worker
    from prometheus_client import REGISTRY

    def count(task: str, status: str) -> float:
        labels = {"task": task, "status": status}
        return REGISTRY.get_sample_value("kisweb_tasks_finished_total", labels) or 0.0

    ok_before = count("reconcile_sweep", "successful")
    failed_before = count("reconcile_credential", "failed")
    trading_tasks.reconcile_sweep.enqueue()
    trading_tasks.reconcile_credential.enqueue("not-a-credential-id")
    Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="in-test",
        excluded_queue_names=[],
    ).run()
    assert count("reconcile_sweep", "successful") - ok_before == 1
    assert count("reconcile_credential", "failed") - failed_before == 1


def test_prune_keeps_recent_and_failed_results_and_live_heartbeats():
    from kisweb.ops.tasks import prune

    def finished(status: str, days_ago: float) -> str:
        row = DBTaskResult.objects.get(pk=trading_tasks.reconcile_sweep.enqueue().id)
        DBTaskResult.objects.filter(pk=row.pk).update(
            status=status, finished_at=timezone.now() - dt.timedelta(days=days_ago)
        )
        return str(row.pk)

    old_ok = finished(TaskResultStatus.SUCCESSFUL, 8)
    new_ok = finished(TaskResultStatus.SUCCESSFUL, 1)
    old_failed = finished(TaskResultStatus.FAILED, 31)
    new_failed = finished(TaskResultStatus.FAILED, 8)
    waiting = str(trading_tasks.reconcile_sweep.enqueue().id)
    Heartbeat.objects.create(name="worker", instance="gone", at=timezone.now() - dt.timedelta(2))
    heartbeat.beat("worker", "here")
    heartbeat.beat("relay")

    assert prune.call() == {"successful": 1, "failed": 1, "heartbeats": 1}
    left = {str(pk) for pk in DBTaskResult.objects.values_list("pk", flat=True)}
    assert left == {new_ok, new_failed, waiting}
    assert old_ok not in left and old_failed not in left
    assert set(Heartbeat.objects.values_list("instance", flat=True)) == {"here", ""}
    assert prune.call() == {"successful": 0, "failed": 0, "heartbeats": 0}
