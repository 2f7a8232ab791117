"""Opening a ``kisweb.kis.KisClient`` for a stored credential: the public way for every
app to talk to KIS as a user (endpoints from settings, tokens in the database, and in
hosted mode the Redis rate limiter and issue lock shared by all processes)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio
from django.conf import settings

from accounts.models import Credential
from accounts.tokenstore import DatabaseTokenStore
from kisweb.kis import Environment, KisClient, KisCredentials, RedisRateLimiter


def kis_credentials(credential: Credential) -> KisCredentials:
    """The library's view of a credential. Raises ``SecretUnavailable`` when the app
    secret cannot be opened."""
    return KisCredentials(
        app_key=credential.app_key,
        app_secret=credential.reveal_app_secret(),
        account_no=credential.account_number,
        product_code=credential.product_code,
        hts_id=credential.hts_id,
        env=Environment(credential.environment),
    )


@contextlib.asynccontextmanager
async def open_client(credential: Credential, **options: Any) -> AsyncIterator[KisClient]:
    """``async with open_client(credential) as client:``; ``options`` go to ``KisClient``."""
    endpoints = settings.KISWEB_KIS_ENDPOINTS[credential.environment]
    shared = redis.asyncio.from_url(settings.REDIS_URL) if settings.REDIS_URL else None
    try:
        client = KisClient(
            kis_credentials(credential),
            endpoints["rest"],
            endpoints["ws"],
            token_store=DatabaseTokenStore(credential, redis=shared),
            limiter=RedisRateLimiter(shared) if shared is not None else None,
            **options,
        )
        async with client:
            yield client
    finally:
        if shared is not None:
            await shared.aclose()
