"""Template context for every page: the credential the top bar shows and the others."""

from typing import Any

from django.http import HttpRequest

from accounts.selection import request_credentials


def credentials(request: HttpRequest) -> dict[str, Any]:
    """``current_credential``: the selected credential when its owner may use it now;
    ``user_credentials``: their enabled credentials, for the switcher."""
    chosen = request_credentials(request)
    return {"current_credential": chosen.current, "user_credentials": chosen.enabled}
