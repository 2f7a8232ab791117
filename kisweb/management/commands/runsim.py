from argparse import ArgumentParser
from typing import Any, NoReturn

from django.conf import settings
from django.core.management.base import BaseCommand

from kisweb.kissim.__main__ import main as simulator_main


class Command(BaseCommand):
    help = "Run the local KIS simulator (the same as `python -m kisweb.kissim`)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default=settings.KISWEB_SIM_HOST)
        parser.add_argument("--real-port", type=int, default=settings.KISWEB_SIM_REAL_PORT)
        parser.add_argument("--paper-port", type=int, default=settings.KISWEB_SIM_PAPER_PORT)
        parser.add_argument("--accounts", help="JSON file listing the simulator's accounts")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--speed", type=float, default=None)
        parser.add_argument("--clock", choices=["always", "krx"], default=None)

    def handle(self, *args: Any, **options: Any) -> NoReturn:
        argv = ["--host", options["host"], "--real-port", str(options["real_port"])]
        argv += ["--paper-port", str(options["paper_port"])]
        for name in ("accounts", "seed", "speed", "clock"):
            if options[name] is not None:
                argv += [f"--{name}", str(options[name])]
        raise SystemExit(simulator_main(argv))
