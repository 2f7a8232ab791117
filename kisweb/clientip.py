"""The browser's address, for sign-in throttling and the audit trail.

Behind a proxy REMOTE_ADDR is the proxy. X-Forwarded-For is trusted only as far as the
operator says (KISWEB_TRUSTED_PROXIES): each trusted proxy appends the address it saw, so
the client is the Nth entry from the right. Anything further left was written by the
client itself and could be anything.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _valid(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    remote = _valid(request.META.get("REMOTE_ADDR", ""))
    hops = settings.KISWEB_TRUSTED_PROXIES
    if hops <= 0:
        return remote
    forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part]
    if len(forwarded) < hops:
        return remote
    return _valid(forwarded[-hops]) or remote
