"""``accounts:`` pages: credentials, two-factor sign-in, the audit log."""

from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("credentials/", views.credential_list, name="credential_list"),
    path("credentials/new/", views.credential_create, name="credential_create"),
    path("credentials/select/", views.credential_select, name="credential_select"),
    path("credentials/<uuid:pk>/", views.credential_detail, name="credential_detail"),
    path("credentials/<uuid:pk>/edit/", views.credential_edit, name="credential_edit"),
    path("credentials/<uuid:pk>/delete/", views.credential_delete, name="credential_delete"),
    path("credentials/<uuid:pk>/verify/", views.credential_verify, name="credential_verify"),
    path("two-factor/", views.two_factor_setup, name="two_factor_setup"),
    path("two-factor/off/", views.two_factor_disable, name="two_factor_disable"),
    path("sign-in/code/", views.sign_in_code, name="sign_in_code"),
    path("sign-up/", views.signup, name="signup"),
    path("activity/", views.audit_log, name="audit_log"),
]
