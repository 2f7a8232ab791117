"""The site's URLs plus what the layout tests need: a failing view and the nav's pages."""

from django.http import HttpResponse
from django.urls import include, path

from kisweb.urls import handler400, handler403, handler404, handler500  # noqa: F401
from kisweb.urls import urlpatterns as site_urlpatterns


def explode(request):
    raise RuntimeError("layout-test-secret: this text must never reach the browser")


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
