"""`manage.py rotate_encryption_key`: re-seal every stored secret under the primary key.

Put the new key first in KISWEB_ENCRYPTION_KEYS and keep the old ones after it, run this,
then the old keys can be removed.
"""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.actions import rotate_encryption_keys


class Command(BaseCommand):
    help = "Re-encrypt every stored secret with the primary (first) encryption key."

    def handle(self, *args: Any, **options: Any) -> None:
        primary = settings.KISWEB_ENCRYPTION_KEYS[0][0]
        report = rotate_encryption_keys()
        self.stdout.write(
            f"Re-sealed {report.resealed} secret(s) under key {primary!r}; "
            f"{report.current} were already under it."
        )
        if report.failed:
            for label, pk in report.failed:
                self.stderr.write(f"cannot open the secret of {label} {pk}: its key is missing")
            raise CommandError(
                f"{len(report.failed)} secret(s) could not be re-sealed; keep their old key "
                "configured, or have the owners enter them again."
            )
