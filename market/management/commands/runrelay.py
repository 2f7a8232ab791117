"""`manage.py runrelay`: the relay's hub as its own process on the channel layer.

The web processes send interests to the hub's channel and join groups; this process owns
the KIS sessions. It needs a layer every process shares (channels-redis: set REDIS_URL),
and web processes must not run a hub of their own (KISWEB_RELAY_IN_PROCESS=0). Run two or
more for failover: Redis leases (market/lease.py) make one of them the active relay and
the others standbys that take over within seconds when it dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from market.hub import Hub
from market.lease import RelayLeases


class Command(BaseCommand):
    help = "Run the market relay (one KIS realtime session per app key) until Ctrl-C."

    def handle(self, *args: Any, **options: Any) -> None:
        backend = str(settings.CHANNEL_LAYERS["default"]["BACKEND"])
        if backend.endswith("InMemoryChannelLayer") or not settings.REDIS_URL:
            raise CommandError(
                "runrelay needs a channel layer shared between processes (set REDIS_URL); "
                "in demo the web server runs the relay itself."
            )
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C before the handlers are set
            asyncio.run(self._run())
        self.stdout.write("relay stopped")

    async def _run(self) -> None:
        try:
            leases = RelayLeases.from_url(
                settings.REDIS_URL,
                ttl_s=settings.KISWEB_RELAY_REDIS_LEASE_TTL_MS / 1000,
                renew_s=settings.KISWEB_RELAY_REDIS_LEASE_RENEW_MS / 1000,
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        hub = Hub(leases=leases)
        self._say(f"relay {leases.holder} standing by for channel {hub.channel!r}")
        serving = asyncio.create_task(hub.run())
        # SIGTERM (systemd, a process manager) ends like Ctrl-C: sessions closed, leases
        # released, so a standby takes over at once instead of after the TTL.
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, serving.cancel)
        try:
            await serving
        except asyncio.CancelledError:
            pass
        finally:
            await leases.aclose()

    def _say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()
