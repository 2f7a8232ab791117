"""One process of a hosted deployment reading prices from KIS for one stored credential, the
way the apps do (``accounts.kis.open_client``: the token in the database, the Redis issue
lock and rate limiter). Started by the multi-process test and bench as
``python -m tests.ops.kis_caller <credential id>`` with hosted settings in its environment.

It prints ``kis_caller ready`` once Django is set up, then for each line ``<n>`` on stdin
reads the price of ``n`` distinct symbols at once and prints ``kis_caller {json}``: how many
reads succeeded and the errors of the others. Not a test module: nothing imports it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

PREFIX = "kis_caller "


async def read_prices(credential, count: int) -> dict[str, object]:
    from accounts.kis import open_client
    from kisweb.kissim.symbols import KRX_LISTINGS

    symbols = [code for code, *_ in KRX_LISTINGS][:count]
    async with open_client(credential) as client:
        results = await asyncio.gather(
            *(client.quote(symbol) for symbol in symbols), return_exceptions=True
        )
    errors = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
    return {"ok": len(results) - len(errors), "errors": errors}


def main(credential_id: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kisweb.settings")
    import django

    django.setup()
    from accounts.models import Credential

    credential = Credential.objects.get(pk=credential_id)
    print(f"{PREFIX}ready", flush=True)
    for line in sys.stdin:
        result = asyncio.run(read_prices(credential, int(line)))
        print(PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
