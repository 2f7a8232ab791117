"""The site's URLs plus what the layout tests need: a failing view and the nav's pages."""

from django.db import OperationalError
from django.http import HttpResponse
from django.urls import include, path

from kisweb.urls import handler400, handler403, handler404, handler500  # noqa: F401
from kisweb.urls import urlpatterns as site_urlpatterns


def explode(request):
    raise RuntimeError("layout-test-secret: this text must never reach the browser")


class LostDatabaseMiddleware:
    """PostgreSQL gone before any view runs, as the session middleware would meet it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/__layout__/lost-database/"):
            raise OperationalError("connection to server at 127.0.0.1 port 5432 refused")
        return self.get_response(request)


def stub(request):
    return HttpResponse("stub")


trading = (
    [
        path("portfolio/", stub, name="portfolio"),
        path("ticket/", stub, name="order_ticket"),
        path("orders/", stub, name="order_list"),
    ],
    "trading",
)
market = (
    [path("quotes/", stub, name="quotes"), path("watchlists/", stub, name="watchlists")],
    "market",
)

urlpatterns = [
    path("__layout__/trading/", include(trading)),
    path("__layout__/market/", include(market)),
    path("__layout__/explode/", explode),
    *site_urlpatterns,
]
