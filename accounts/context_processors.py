"""Template context for every page: the credential the top bar shows and the others."""

from accounts.models import Credential


def credentials(request):
    """``current_credential``: the user's selected, enabled credential (or None);
    ``user_credentials``: their enabled credentials, for the switcher."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"current_credential": None, "user_credentials": []}
    owned = list(Credential.objects.owned_by(user).enabled())
    current = next((credential for credential in owned if credential.is_selected), None)
    return {"current_credential": current, "user_credentials": owned}
