"""`manage.py runrelay`: the relay's hub as its own process on the channel layer.

The web processes send interests to the hub's channel and join groups; this process owns
the KIS sessions. It needs a layer every process shares (channels-redis: set REDIS_URL),
and web processes must not run a hub of their own (KISWEB_RELAY_IN_PROCESS=0). One relay
per deployment for now: hosted mode will add a Redis lease so a second one waits.
"""

from __future__ import annotations

import asyncio
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from market.hub import Hub


class Command(BaseCommand):
    help = "Run the market relay (one KIS realtime session per app key) until Ctrl-C."

    def handle(self, *args: Any, **options: Any) -> None:
        backend = str(settings.CHANNEL_LAYERS["default"]["BACKEND"])
        if backend.endswith("InMemoryChannelLayer"):
            raise CommandError(
                "runrelay needs a channel layer shared between processes (set REDIS_URL); "
                "in demo the web server runs the relay itself."
            )
        hub = Hub()
        self.stdout.write(f"relay listening on channel {hub.channel!r}", ending="\n")
        self.stdout.flush()
        try:
            asyncio.run(hub.run())
        except KeyboardInterrupt:
            self.stdout.write("relay stopped")
