"""Error reports (the DEBUG 500 page and the mails to ADMINS) without our secrets.

Django's ``SafeExceptionReporterFilter`` hides settings named like KEY or SECRET, but it
shows every local variable of every frame, and when ``DEBUG`` is on it ignores
``sensitive_post_parameters`` and ``sensitive_variables`` altogether. An app secret is a
local in the credential forms and actions, the AES key a local in ``accounts.secrets``,
an approval key a local in the realtime client. This filter is always active and also
hides locals and POST fields by name, and passwords written into URLs.
"""

from __future__ import annotations

import re
from collections.abc import ItemsView
from types import FrameType
from typing import Any

from django.conf import settings
from django.http import HttpRequest, QueryDict
from django.views.debug import CallableSettingWrapper, SafeExceptionReporterFilter

# Names whose values are, or may hold, a secret: app secrets (app_secret, appsecret,
# secretkey), tokens, approval keys, AES keys, passwords and one-time codes, the plaintext
# that ``seal`` encrypts, and the generic names that hold request or response bodies.
_HIDDEN_NAMES = re.compile(
    r"API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|COOKIE|APPROVAL|OTP|CREDENTIAL|PLAIN"
    r"|^(value|body|raw|payload|content|text|data|frame|message|box)$",
    flags=re.IGNORECASE,
)
# scheme://user:password@host — REDIS_URL, DATABASE_URL, broker and cache URLs.
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/@:\s]*:)[^/@\s]*@", re.IGNORECASE)

# Nesting deeper than this (or a structure that holds itself) is hidden, not walked.
_MAX_DEPTH = 6


class SecretScrubbingFilter(SafeExceptionReporterFilter):
    hidden_settings = _HIDDEN_NAMES

    def is_active(self, request: HttpRequest | None) -> bool:
        # Also with DEBUG on: the demo's 500 page is still read by people and screenshotted.
        return True

    def cleanse_setting(self, key: int | str, value: Any, _depth: int = 0) -> Any:
        """Django's rules (hidden names, the session cookie, into dicts, lists and tuples)
        plus passwords in URLs, and a depth limit: locals, unlike settings, may be deep or
        hold themselves."""
        hidden = key == settings.SESSION_COOKIE_NAME or (
            isinstance(key, str) and bool(self.hidden_settings.search(key))
        )
        if hidden:
            return self.cleansed_substitute
        if isinstance(value, (dict, list, tuple)) and _depth >= _MAX_DEPTH:
            return self.cleansed_substitute
        cleansed: Any
        if isinstance(value, dict):
            cleansed = {k: self.cleanse_setting(k, v, _depth + 1) for k, v in value.items()}
        elif isinstance(value, list):
            cleansed = [self.cleanse_setting("", v, _depth + 1) for v in value]
        elif isinstance(value, tuple):
            cleansed = tuple([self.cleanse_setting("", v, _depth + 1) for v in value])
        elif type(value) is str:  # not lazy or proxy objects that only look like str
            cleansed = _URL_PASSWORD.sub(rf"\g<head>{self.cleansed_substitute}@", value)
        else:
            cleansed = value
        if callable(cleansed):
            cleansed = CallableSettingWrapper(cleansed)
        return cleansed

    def get_post_parameters(self, request: HttpRequest | None) -> dict[str, Any]:
        parameters = super().get_post_parameters(request)
        if request is None or not isinstance(parameters, QueryDict):
            return parameters
        cleansed = parameters.copy()
        for name, values in cleansed.lists():
            cleansed.setlist(name, [self.cleanse_setting(name, value) for value in values])
        return cleansed

    def get_traceback_frame_variables(
        self, request: HttpRequest | None, tb_frame: FrameType
    ) -> ItemsView[str, Any]:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return {name: self._cleanse_local(name, value) for name, value in variables}.items()

    def _cleanse_local(self, name: str, value: Any) -> Any:
        if type(value) is str and value == self.cleansed_substitute:
            return value
        if isinstance(value, (dict, list, tuple, str)) or _HIDDEN_NAMES.search(name):
            return self.cleanse_setting(name, value)
        return value
