from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from kisweb.simstatus import simulator_status


@login_required
def home(request):
    status = simulator_status() if settings.KISWEB_MODE == "demo" else None
    return render(request, "home.html", {"simulator": status})


@require_GET
def health(request):
    """Liveness for the proxy and the demo launcher: answers without touching KIS."""
    return JsonResponse({"status": "ok", "mode": settings.KISWEB_MODE})
