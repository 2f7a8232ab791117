# mypy: disable-error-code="import-untyped"
# The Django plugin makes this module depend on every installed app's models, and axes and
# django-otp ship no type information; their import errors are reported here, lineless.
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and KIS credentials")

    def ready(self) -> None:
        from accounts import signals  # noqa: F401 - connects the audit receivers
