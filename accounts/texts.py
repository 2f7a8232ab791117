"""What accounts says to people, in one place: explanations of KIS errors, the secret that
can no longer be opened, the wrong two-factor code. The msgids are the English text; the
Korean is in locale/ko/LC_MESSAGES/django.po."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Credential
from kisweb.kis import InvalidCredential, KisError, TokenIssueTooSoon, UpstreamUnavailable

# The stored app secret no configured key opens: told to its owner, who can enter it again,
# and to staff, who cannot.
SECRET_UNREADABLE = gettext_lazy(
    "The stored app secret cannot be opened: the key that encrypted it is no "
    "longer configured. Enter the app secret again."
)
SECRET_UNREADABLE_FOR_STAFF = gettext_lazy(
    "cannot be opened: the key that encrypted it is no longer configured. "
    "The owner must enter the app secret again."
)

WRONG_CODE = gettext_lazy("That code is not right. Wait for the next one and try again.")
CODE_STEP_TIMED_OUT = gettext_lazy("Sign in again: the code step timed out.")


def explain_kis_error(error: KisError, credential: Credential) -> str:
    """A KIS failure as a sentence for the person who owns the credential."""
    if error.code == "EGW00103":
        return _(
            "KIS did not accept the app key (EGW00103). Check that it was copied whole and "
            "that it is a key for %(environment)s."
        ) % {"environment": credential.get_environment_display()}
    if error.code == "EGW00105":
        return _(
            "KIS did not accept the app secret (EGW00105). Enter the app secret again, "
            "copied whole."
        )
    if error.code == "EGW02004":
        return _(
            "This app key belongs to the other environment (EGW02004): paper-trading keys "
            "work only for paper trading, real-money keys only for real money."
        )
    if isinstance(error, TokenIssueTooSoon):
        return _(
            "KIS issues at most one access token a minute per app key (EGW00133). "
            "Try again in %(seconds)d seconds."
        ) % {"seconds": max(1, round(error.retry_after_s))}
    if isinstance(error, InvalidCredential):
        return _("KIS did not accept this app key and secret (%(code)s).") % {"code": error.code}
    if isinstance(error, UpstreamUnavailable) and error.code == "NETWORK":
        host = urlsplit(settings.KISWEB_KIS_ENDPOINTS[credential.environment]["rest"]).netloc
        return _(
            "KIS could not be reached at %(host)s. Check the network connection and try "
            "again later."
        ) % {"host": host}
    return _("KIS refused the request: %(message)s (%(code)s).") % {
        "message": error.message,
        "code": error.code,
    }
