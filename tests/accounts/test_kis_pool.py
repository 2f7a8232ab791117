"""``accounts.kis.call_kis``: sync code's KIS calls on the process loop with pooled clients,
against the simulator over real sockets (docs/kis-protocol.md §2.1 for the token rules)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import select
import signal
import threading

import pytest
from django.db import connection, connections
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from accounts.actions import CredentialInput, update_credential, verify_credential
from accounts.kis import call_kis
from accounts.kisloop import process_loop
from accounts.models import KisToken
from kisweb.kis import InvalidCredential


async def _quote(client):
    return await client.quote("005930")


def _token_queries(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "accounts_kistoken" in q["sql"]]


def _edit(credential, **changes) -> CredentialInput:
    fields = {
        "label": credential.label,
        "environment": credential.environment,
        "app_key": credential.app_key,
        "app_secret": "",
        "account_number": credential.account_number,
        "product_code": credential.product_code,
        "hts_id": credential.hts_id,
        **changes,
    }
    return CredentialInput(**fields)


def test_calls_share_a_connection_and_read_the_token_once(alice_credential, kis_endpoints):
    key = alice_credential.app_key
    with CaptureQueriesContext(connection) as first:
        assert call_kis(alice_credential, _quote).symbol == "005930"
    # The first call read and saved the token on this thread's connection (the test's
    # transaction), not on a connection of the loop thread.
    assert len(_token_queries(first)) >= 2
    with CaptureQueriesContext(connection) as later:
        for _ in range(5):
            assert call_kis(alice_credential, _quote).symbol == "005930"
    assert _token_queries(later) == []
    assert kis_endpoints.stats.token_issues(key) == 1
    assert len(kis_endpoints.stats.requests(appkey=key)) == 6
    assert kis_endpoints.stats.connections(key) == 1


def test_other_options_are_another_client_of_the_same_credential(alice_credential, kis_endpoints):
    key = alice_credential.app_key
    for _ in range(2):
        call_kis(alice_credential, _quote)
        call_kis(alice_credential, _quote, timeout_s=3.0)
    assert kis_endpoints.stats.connections(key) == 2
    assert kis_endpoints.stats.token_issues(key) == 1


def test_a_new_secret_is_used_by_the_next_call(alice, alice_credential, kis_endpoints):
    right = alice_credential.reveal_app_secret()
    wrong = right[:-1] + ("A" if right[-1] != "A" else "B")
    call_kis(alice_credential, _quote)

    assert update_credential(alice, alice_credential, _edit(alice_credential, app_secret=wrong))
    with pytest.raises(InvalidCredential) as refusal:
        call_kis(alice_credential, _quote)
    assert refusal.value.code == "EGW00105"  # the simulator got the new secret

    update_credential(alice, alice_credential, _edit(alice_credential, app_secret=right))
    assert call_kis(alice_credential, _quote).symbol == "005930"


def test_a_token_the_simulator_expired_early_is_renewed_once_and_never_logged(
    alice, alice_credential, kis_endpoints, caplog
):
    caplog.set_level(logging.DEBUG)
    key = alice_credential.app_key
    assert verify_credential(alice, alice_credential).ok
    # Issued by another client two minutes ago: KIS's once-a-minute rule allows a new one.
    KisToken.objects.filter(credential=alice_credential).update(
        issued_at=F("issued_at") - dt.timedelta(minutes=2)
    )
    first_token = KisToken.objects.get(credential=alice_credential).reveal_value()
    interval = kis_endpoints.tokens.issue_interval_s
    kis_endpoints.tokens.issue_interval_s = 0.0
    try:
        call_kis(alice_credential, _quote)
        kis_endpoints.faults.expire_tokens()
        assert call_kis(alice_credential, _quote).symbol == "005930"
        with CaptureQueriesContext(connection) as later:
            assert call_kis(alice_credential, _quote).symbol == "005930"
    finally:
        kis_endpoints.tokens.issue_interval_s = interval
    assert kis_endpoints.stats.token_issues(key) == 2
    refused = [r for r in kis_endpoints.stats.requests(appkey=key) if r.msg_cd == "EGW00123"]
    assert len(refused) == 1
    second_token = KisToken.objects.get(credential=alice_credential).reveal_value()
    assert second_token != first_token
    assert _token_queries(later) == []  # the renewed token is cached too
    for secret in (alice_credential.reveal_app_secret(), first_token, second_token):
        assert secret not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_threads_calling_at_once_issue_one_token(alice_credential, kis_endpoints):
    results: list[object] = []
    failures: list[BaseException] = []

    def call() -> None:
        try:
            results.append(call_kis(alice_credential, _quote))
        except BaseException as failure:
            failures.append(failure)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(results) == 8
    assert kis_endpoints.stats.token_issues(alice_credential.app_key) == 1
    assert KisToken.objects.filter(credential=alice_credential).count() == 1


def test_a_forked_child_runs_on_a_loop_of_its_own():
    async def loop_thread() -> int:
        return threading.get_ident()

    parent = process_loop.run(loop_thread)
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        try:
            os.write(write_end, str(process_loop.run(loop_thread)).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    # Without the reset the child would wait forever for its parent's loop thread.
    answered, _, _ = select.select([read_end], [], [], 60)
    if not answered:
        os.kill(child, signal.SIGKILL)
    with os.fdopen(read_end) as answer:
        child_loop = answer.read() if answered else ""
    os.waitpid(child, 0)
    assert child_loop.isdigit()
    assert process_loop.run(loop_thread) == parent  # the parent's loop is untouched


async def test_a_running_loop_must_await_instead():
    async def nothing() -> None:
        await asyncio.sleep(0)

    with pytest.raises(RuntimeError):
        process_loop.run(nothing)


@pytest.mark.django_db(transaction=True)
def test_a_view_under_async_to_sync_may_use_the_cache_on_the_kis_loop(alice, make_credential):
    """Django runs a view behind a sync-only middleware through async_to_sync. A coroutine
    on the process loop that reached for Django's async cache queued its work on that
    outer executor, whose thread was the one waiting for the coroutine: the real-money
    ticket hung (the product-name lookup). Sync work goes through on_caller_thread."""
    from asgiref.sync import async_to_sync, sync_to_async

    from trading import names

    real = make_credential(alice, environment="real", label="Alice real")
    assert verify_credential(alice, real).ok

    def view() -> str:
        return call_kis(real, lambda client: names.from_kis(client, "KRX", "KRX", "005930"))

    async def middleware() -> str:
        return await sync_to_async(view)()

    answers: list[str] = []
    request = threading.Thread(
        target=lambda: answers.append(async_to_sync(middleware)()), daemon=True
    )
    request.start()
    request.join(15)
    assert not request.is_alive(), "the view waited for itself"
    assert answers and answers[0]  # KIS's short name of 005930, cached for the next view
