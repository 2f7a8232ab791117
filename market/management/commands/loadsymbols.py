"""`manage.py loadsymbols [FILE_OR_URL ...] [--bundled] [--keep-missing]`

Loads KIS's master files (``kospi_code.mst``, ``kosdaq_code.mst``, ``nasmst.cod``,
``nysmst.cod``, ``amsmst.cod``, or the ``.zip`` KIS publishes them in) into the symbol
master. Every source is read and checked before anything is written; then one transaction
upserts them all, so a bad or cut line changes nothing.
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

import httpx
from django.core.management.base import BaseCommand, CommandError

from market.symbols import (
    MAX_DOWNLOAD_BYTES,
    MasterFileError,
    ParsedFile,
    bundled_files,
    load,
    parse_master,
)

DOWNLOAD_TIMEOUT_S = 60.0


def fetch(url: str) -> bytes:
    """The body at ``url``, refused past MAX_DOWNLOAD_BYTES."""
    try:
        with httpx.stream("GET", url, timeout=DOWNLOAD_TIMEOUT_S, follow_redirects=True) as answer:
            if answer.status_code != 200:
                raise CommandError(f"{url}: the server answered HTTP {answer.status_code}")
            chunks, size = [], 0
            for chunk in answer.iter_bytes():
                size += len(chunk)
                if size > MAX_DOWNLOAD_BYTES:
                    raise CommandError(f"{url}: larger than {MAX_DOWNLOAD_BYTES} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as error:
        raise CommandError(f"{url}: could not download ({type(error).__name__})") from None


class Command(BaseCommand):
    help = "Load KIS symbol master files (files or URLs, .zip or plain) into the database."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("sources", nargs="*", help="master files or http(s) URLs")
        parser.add_argument(
            "--bundled", action="store_true", help="load the small fixture shipped with kisweb"
        )
        parser.add_argument(
            "--keep-missing",
            action="store_true",
            help="do not unlist symbols that a loaded file no longer lists",
        )

    def handle(self, *args: Any, sources: list[str], bundled: bool, **options: Any) -> None:
        if not sources and not bundled:
            raise CommandError("name at least one master file or URL, or pass --bundled")
        parsed: list[ParsedFile] = []
        try:
            if bundled:
                parsed.extend(bundled_files())
            for source in sources:
                if source.startswith(("http://", "https://")):
                    data = fetch(source)
                else:
                    path = Path(source)
                    if not path.is_file():
                        raise CommandError(f"{source}: no such file")
                    data = path.read_bytes()
                parsed.extend(parse_master(source, data))
        except MasterFileError as error:
            raise CommandError(f"{error} (nothing was loaded)") from None
        report = load(parsed, deactivate_missing=not (options["keep_missing"] or bundled))
        for market, count in sorted(report.by_market.items()):
            self.stdout.write(f"{market}: {count}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {report.created + report.updated} symbols: {report.created} new, "
                f"{report.updated} updated, {report.deactivated} unlisted, "
                f"{report.skipped} skipped (not instruments)."
            )
        )
