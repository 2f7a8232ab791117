"""Template context for every page: the credential the top bar shows and the others."""

from typing import Any

from django.http import HttpRequest

from accounts.actions import may_use
from accounts.models import Credential


def credentials(request: HttpRequest) -> dict[str, Any]:
    """``current_credential``: the user's selected credential when they may use it now
    (enabled; real money only with the second factor the site asks), else None;
    ``user_credentials``: their enabled credentials, for the switcher."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"current_credential": None, "user_credentials": []}
    owned = list(Credential.objects.owned_by(user).enabled())
    selected = next((credential for credential in owned if credential.is_selected), None)
    current = selected if selected is not None and may_use(user, selected) else None
    return {"current_credential": current, "user_credentials": owned}
