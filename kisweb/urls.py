from django.contrib import admin
from django.urls import include, path

from kisweb import views
from kisweb.ops import views as ops_views
from market.health import admin_health

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("healthz", ops_views.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
    path("metrics", ops_views.metrics_view, name="metrics"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("accounts.auth_urls")),
    path("accounts/", include("accounts.urls")),
    path("trading/", include("trading.urls")),
    path("market/", include("market.urls")),
    path("admin/kis-health/", admin_health, name="admin_kis_health"),
    path("admin/", admin.site.urls),
]

# Error pages in our layout; they never show a traceback or a setting (templates/errors/),
# and never read the request body (kisweb/views.py says why).
handler400 = views.bad_request
handler403 = views.permission_denied
handler404 = views.page_not_found
handler500 = views.server_error
