"""kissim: a local stand-in for the KIS Open Trading API that speaks its wire protocol.

See docs/kis-protocol.md for the protocol; `Simulator` serves the real and paper environments,
`testing.SimulatorThread` runs one in a background thread.
"""

from .accounts import DEMO_ACCOUNTS, SimAccount, load_accounts, make_account
from .clock import Clock
from .server import Simulator

__all__ = ["DEMO_ACCOUNTS", "Clock", "SimAccount", "Simulator", "load_accounts", "make_account"]
