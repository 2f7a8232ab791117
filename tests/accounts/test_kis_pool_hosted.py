"""Hosted mode (PostgreSQL, Redis): pooled clients of sync code share one token through the
database and the Redis issue lock, and keep their connections between calls."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connections

from accounts.kis import call_kis
from accounts.models import KisToken
from kisweb.kissim.symbols import KRX_LISTINGS

pytestmark = [pytest.mark.hosted, pytest.mark.django_db(transaction=True)]


def _quote(symbol: str):
    async def read(client):
        return await client.quote(symbol)

    return read


def test_threads_of_a_hosted_process_issue_once_and_reuse_connections(
    alice_credential, kis_endpoints
):
    assert settings.REDIS_URL  # the Redis limiter and issue lock are in play
    failures: list[BaseException] = []

    def calls(symbol: str) -> None:
        try:
            for _ in range(3):
                assert call_kis(alice_credential, _quote(symbol)).symbol == symbol
        except BaseException as failure:
            failures.append(failure)
        finally:
            connections.close_all()

    # A symbol per thread: identical reads in flight would be sent once (shared reads).
    symbols = [code for code, *_ in KRX_LISTINGS[:4]]
    threads = [threading.Thread(target=calls, args=(symbol,)) for symbol in symbols]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    key = alice_credential.app_key
    assert failures == []
    assert kis_endpoints.stats.token_issues(key) == 1
    assert KisToken.objects.filter(credential=alice_credential).count() == 1
    assert len(kis_endpoints.stats.requests(appkey=key)) == 12
    # One pooled client: at most a connection per caller that was in flight at once.
    assert kis_endpoints.stats.connections(key) <= 4
