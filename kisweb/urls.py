from functools import partial

from django.contrib import admin
from django.urls import include, path
from django.views import defaults

from kisweb import views

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("accounts.auth_urls")),
    path("accounts/", include("accounts.urls")),
    path("trading/", include("trading.urls")),
    path("admin/", admin.site.urls),
]

# Error pages in our layout; they never show a traceback or a setting (templates/errors/).
handler400 = partial(defaults.bad_request, template_name="errors/400.html")
handler403 = partial(defaults.permission_denied, template_name="errors/403.html")
handler404 = partial(defaults.page_not_found, template_name="errors/404.html")
handler500 = partial(defaults.server_error, template_name="errors/500.html")
