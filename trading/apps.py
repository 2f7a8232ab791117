from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"

    def ready(self) -> None:
        from trading import calendar  # noqa: F401 - connects the calendar's cache receivers
