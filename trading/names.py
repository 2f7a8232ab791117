"""What the ticket calls a stock, and where a US stock trades.

The symbol master (``market.models.Symbol``) answers first; a code it does not hold is
asked of KIS's ``search-info`` (CTPF1604R), which only the real host serves. Quotes carry
no stock name (``rprs_mrkt_kor_name`` is the index group, e.g. KOSPI200), so without either
source the ticket shows the code alone rather than a wrong name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.cache import cache

from accounts.kisloop import on_caller_thread
from kisweb.kis import Environment, KisClient, KisError

# PRDT_TYPE_CD of search-info (docs/kis-protocol.md §4.2): 300 KRX stock; US by exchange.
PRODUCT_TYPES = {"KRX": "300", "NASD": "512", "NYSE": "513", "AMEX": "529"}
US_EXCHANGES = ("NASD", "NYSE", "AMEX")
NAME_TTL_S = 24 * 3600  # names change rarely; one search-info per symbol a day is plenty
# What a code or a ticker of the master can look like: anything else is not looked up, as
# a link or a post can hold any text (a NUL byte breaks a PostgreSQL query).
MASTER_CODE = re.compile(r"[0-9A-Z./-]{1,16}", re.ASCII)


@dataclass(frozen=True)
class Listing:
    name: str = ""
    exchange: str = ""  # NASD/NYSE/AMEX for a US row of the master; "" otherwise


def from_master(market: str, symbol: str) -> Listing:
    """The master's name (and US exchange) for ``symbol``; an empty listing for a symbol
    it does not hold or that no code could be."""
    from market.models import Symbol

    if not MASTER_CODE.fullmatch(symbol):
        return Listing()
    rows = Symbol.objects.filter(code=symbol)
    if market == "US":
        rows = rows.filter(market__in=US_EXCHANGES)
    else:
        rows = rows.filter(market__in=Symbol.DOMESTIC)
    row = rows.only("name", "market").first()
    if row is None:
        return Listing()
    return Listing(row.name, row.market if market == "US" else "")


async def from_kis(client: KisClient, market: str, venue: str, symbol: str) -> str:
    """The short name KIS gives the product, or "" (paper host, unknown code, KIS error)."""
    if client.creds.env is not Environment.REAL:
        return ""
    product_type = PRODUCT_TYPES["KRX"] if market != "US" else PRODUCT_TYPES.get(venue, "512")
    key = f"trading:name:{product_type}:{symbol}"
    # The cache through on_caller_thread, not cache.aget: on the process loop a view's
    # thread-sensitive call queues on that view's own thread, which is waiting for us.
    cached = await on_caller_thread(lambda: cache.get(key))
    if cached:
        return str(cached)
    try:
        name = (await client.product_info(symbol, product_type)).name
    except KisError:
        return ""
    if name:
        await on_caller_thread(lambda: cache.set(key, name, NAME_TTL_S))
    return name
