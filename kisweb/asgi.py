"""ASGI entry point: Django for HTTP, Channels for the browser's one WebSocket per tab."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kisweb.settings")
# Django must be set up before anything imports models (consumers, auth middleware).
django_asgi_app = get_asgi_application()

# channels ships no type information (a stub package exists: types-channels).
from channels.auth import AuthMiddlewareStack  # type: ignore[import-untyped]  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # type: ignore[import-untyped]  # noqa: E402
from channels.security.websocket import (  # type: ignore[import-untyped]  # noqa: E402
    AllowedHostsOriginValidator,
)

from kisweb.routing import refuse_unknown_path, websocket_urlpatterns  # noqa: E402
from market.hub import start_local_hub_on_first_call  # noqa: E402

application = start_local_hub_on_first_call(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": AllowedHostsOriginValidator(
                AuthMiddlewareStack(URLRouter([*websocket_urlpatterns, refuse_unknown_path]))
            ),
        }
    )
)
