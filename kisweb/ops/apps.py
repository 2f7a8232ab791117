from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "kisweb.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from kisweb.ops import metrics

        metrics.install()
