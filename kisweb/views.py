"""The site's own pages (home, health) and its error pages."""

import sys

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    HttpResponseNotFound,
    HttpResponseServerError,
    JsonResponse,
)
from django.shortcuts import render
from django.template import loader
from django.views.decorators.http import require_GET

from kisweb.ops.unavailable import UNREACHABLE, unavailable
from kisweb.simstatus import simulator_status


@login_required
def home(request: HttpRequest) -> HttpResponse:
    status = simulator_status() if settings.KISWEB_MODE == "demo" else None
    return render(request, "home.html", {"simulator": status})


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness for the proxy and the demo launcher: answers without touching KIS."""
    return JsonResponse({"status": "ok", "mode": settings.KISWEB_MODE})


# Error pages, in place of Django's own handlers. Those are wrapped in
# ``requires_csrf_token``, which runs the CSRF check and so parses the form body again: a
# body that cannot be parsed (a charset other than UTF-8, too many fields) raised again in
# the 400 handler, then in the 500 handler, and the server sent its bare 500. These render the
# same templates and never touch the body. 400 and 500 render without the request, as
# Django's do: nothing there may depend on the session or the database.


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return HttpResponseBadRequest(loader.render_to_string("errors/400.html"))


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return HttpResponseForbidden(loader.render_to_string("errors/403.html", request=request))


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return HttpResponseNotFound(loader.render_to_string("errors/404.html", request=request))


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page; a database or Redis lost before any view ran (in a middleware: the
    session, the sign-in throttle) is the 503 page, as it is inside a view."""
    if isinstance(sys.exc_info()[1], UNREACHABLE):
        return unavailable()
    return HttpResponseServerError(loader.render_to_string("errors/500.html"))
