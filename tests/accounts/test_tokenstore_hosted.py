"""Hosted mode: two processes' clients share one token through PostgreSQL and the Redis
issue lock (run by `make test` with KISWEB_MODE=hosted)."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from accounts.kis import open_client
from accounts.models import KisToken

pytestmark = pytest.mark.hosted


@pytest.mark.django_db(transaction=True)
async def test_two_clients_with_the_database_store_issue_once(alice_credential, kis_endpoints):
    async def one_client():
        async with open_client(alice_credential) as client:
            return await client.ensure_token()

    first, second = await asyncio.gather(one_client(), one_client())

    assert first.value == second.value
    assert kis_endpoints.stats.token_issues(alice_credential.app_key) == 1
    assert await KisToken.objects.filter(credential=alice_credential).acount() == 1
    # The ORM's worker thread keeps its connection open; let the test database be dropped.
    await sync_to_async(connections.close_all)()
