"""The upstream health strip (every signed-in page) and the admins' page of every
credential's health: token validity, the last KIS error, rate-limit headroom, the
realtime session's state and registrations. Live values come from the hub's status
messages (``static/js/health.js``); the page renders the last snapshot it has."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import Credential, KisToken
from accounts.selection import request_credentials
from kisweb.kis import Environment, RateLimits
from market.hub import SNAPSHOTS, key_hash


def credential_health(credential: Credential) -> dict[str, Any]:
    token = (
        KisToken.objects.filter(credential=credential, kind=KisToken.Kind.ACCESS)
        .order_by("-expires_at")
        .first()
    )
    status = SNAPSHOTS.get(key_hash(credential.app_key), {})
    limits = RateLimits()
    return {
        "credential": credential,
        "token_expires_at": token.expires_at if token else None,
        "per_second": limits.per_second(Environment(credential.environment)),
        "state": status.get("state", "closed"),
        "registrations": status.get("registrations", 0),
        "cap": status.get("cap", 41),
        "slots": status.get("slots", []),
        "last_pingpong": status.get("last_pingpong", ""),
        "reconnects_today": status.get("reconnects_today", 0),
        "last_gap_s": status.get("last_gap_s"),
        "last_error": status.get("last_error", ""),
        "last_error_at": status.get("last_error_at", ""),
        "per_minute": (
            status.get("connects_per_min", 0),
            status.get("subscribes_per_min", 0),
            status.get("unsubscribes_per_min", 0),
        ),
    }


def strip_for(request: HttpRequest | None) -> dict[str, Any] | None:
    if request is None:
        return None
    credential = request_credentials(request).shown
    return credential_health(credential) if credential else None


@staff_member_required
def admin_health(request: HttpRequest) -> HttpResponse:
    rows = [
        credential_health(c)
        for c in Credential.objects.select_related("owner").order_by("owner__username", "label")
    ]
    return render(request, "market/admin_health.html", {"rows": rows})
