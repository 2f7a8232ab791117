"""The REST surface (§2–§6): `gateway` checks and routes, one module per family of TRs.

`tr` holds what the handlers share; `domestic_quotes`, `domestic_orders` and `overseas`
hold the handlers; OAuth lives in `..oauth`.
"""

from .gateway import Api

__all__ = ["Api"]
