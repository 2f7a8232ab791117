"""The signed-in person's credentials, read once per request.

The top bar, the health strip and the trading and quote views all need the selected
credential; each reading it was its own query, three a page. A view that changes
credentials must not read this before the change (none does: they redirect after).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from accounts.actions import may_use
from accounts.models import Credential

_ATTRIBUTE = "_kisweb_credentials"


@dataclass(frozen=True)
class RequestCredentials:
    enabled: list[Credential]
    """The user's enabled credentials in label order, for the switcher."""
    selected: Credential | None
    """The enabled one the user selected, usable now or not."""
    current: Credential | None
    """The selected one when its owner may use it now (enabled; real money only with
    the second factor the site asks), else None."""

    @property
    def shown(self) -> Credential | None:
        """The one whose upstream health the strip shows: the selected, else the oldest."""
        if self.selected is not None or not self.enabled:
            return self.selected
        return min(self.enabled, key=lambda credential: credential.created_at)


NONE = RequestCredentials(enabled=[], selected=None, current=None)


def request_credentials(request: HttpRequest) -> RequestCredentials:
    memo: RequestCredentials | None = getattr(request, _ATTRIBUTE, None)
    if memo is not None:
        return memo
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return NONE
    enabled = list(Credential.objects.owned_by(user).enabled())
    selected = next((credential for credential in enabled if credential.is_selected), None)
    current = selected if selected is not None and may_use(user, selected) else None
    memo = RequestCredentials(enabled=enabled, selected=selected, current=current)
    setattr(request, _ATTRIBUTE, memo)
    return memo


def current_credential(request: HttpRequest) -> Credential | None:
    return request_credentials(request).current
