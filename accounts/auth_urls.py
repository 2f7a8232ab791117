"""Sign-in, sign-out and passwords under Django's own URL names (``login``, ``logout``,
``password_change``, ``password_reset``, ...), with kisweb's sign-in and audit."""

from django.contrib.auth import urls as django_auth_urls
from django.urls import URLPattern, URLResolver, path

from accounts import views

_OURS = {
    "login": views.SignInView.as_view(),
    "password_change": views.PasswordChangeView.as_view(),
}

urlpatterns: list[URLPattern | URLResolver] = [
    path(str(pattern.pattern), _OURS[pattern.name], name=pattern.name)
    if isinstance(pattern, URLPattern) and pattern.name in _OURS
    else pattern
    for pattern in django_auth_urls.urlpatterns
]
