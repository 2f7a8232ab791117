"""Hosted settings for the outage tests' child processes, with the market always open as
the simulator's clock is (the KRX hours have tests of their own)."""

from kisweb.settings import *  # noqa: F403

KISWEB_MARKET_HOURS = "always"
