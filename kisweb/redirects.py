"""Redirects to a place the visitor named (``next``): a path on this site, or a fallback.

``django.shortcuts.redirect`` takes a string without "/" or "." for a URL name and raises
when none matches, so ``redirect(next)`` turned ``next=foo`` into a 500 from a plain link,
and let the visitor pick a view by name. A ``next`` is used here only as a path.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next_path(request: HttpRequest, candidate: str | None, fallback: str) -> str:
    """``candidate`` when it is a path on this site other than the one being answered
    (which would redirect to itself), else ``fallback``."""
    if (
        candidate
        and candidate.startswith("/")
        and candidate != request.path
        and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return candidate
    return fallback


def redirect_to_next(
    request: HttpRequest, candidate: str | None, fallback: str
) -> HttpResponseRedirect:
    """A redirect to ``safe_next_path``; ``fallback`` is a path, never a URL name."""
    return HttpResponseRedirect(safe_next_path(request, candidate, fallback))
