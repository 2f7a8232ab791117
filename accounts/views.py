"""Thin views: bind a form, call one action, redirect or render."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp import login as otp_login  # type: ignore[import-untyped]  # untyped package

from accounts import actions, audit, texts, twofactor
from accounts.forms import CredentialForm, OtpForm, SelectCredentialForm, SignInForm, SignUpForm
from accounts.models import AuditEvent, Credential
from kisweb.redirects import redirect_to_next, safe_next_path


def _member(request: HttpRequest) -> User:
    """The signed-in person (every view that asks is behind ``login_required``)."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


def _get_credential_for_user(request: HttpRequest, credential_id: UUID) -> Credential:
    # Another user's credential gets the same 404 as a missing one: no hint that it exists.
    return get_object_or_404(Credential.objects.owned_by(request.user), pk=credential_id)


def _refuse_use(request: HttpRequest, refusal: Exception) -> HttpResponse:
    """Redirect with the reason a credential may not be used now."""
    if isinstance(refusal, actions.SecondFactorRequired):
        messages.error(
            request,
            _("Real-money credentials need two-factor sign-in. Set it up, then try again."),
        )
        return redirect("accounts:two_factor_setup")
    messages.error(request, _("This credential is disabled. Enable it first."))
    return redirect("accounts:credential_list")


# ---------------------------------------------------------------- sign-in


class SignInView(auth_views.LoginView):
    """Password first; people with an authenticator then give a code (``sign_in_code``)."""

    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_redirect_url(self, request: HttpRequest | None = None) -> str:
        # A path only (never a URL name), and never this page: Django's view raises on a
        # signed-in visit whose ``next`` is the sign-in page itself.
        return safe_next_path(self.request, super().get_redirect_url(), "")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(signup_open=settings.KISWEB_SIGNUP_OPEN, **kwargs)

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        user = form.get_user()
        if not twofactor.has_two_factor(user):
            return super().form_valid(form)
        twofactor.start_code_step(self.request.session, user, self.get_success_url())
        return redirect("accounts:sign_in_code")


@sensitive_post_parameters("otp_token")
@never_cache
def sign_in_code(request: HttpRequest) -> HttpResponse:
    pending = twofactor.pending_sign_in(request.session)
    if pending is None:
        messages.error(request, texts.CODE_STEP_TIMED_OUT)
        return redirect("login")
    user = get_object_or_404(get_user_model(), pk=pending.user_pk, is_active=True)
    form = OtpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        device = twofactor.check_totp(user, form.cleaned_data["otp_token"])
        if device is not None:
            twofactor.end_code_step(request.session)
            auth_login(request, user, backend=pending.backend)
            otp_login(request, device)
            return redirect_to_next(
                request, pending.next_url, resolve_url(settings.LOGIN_REDIRECT_URL)
            )
        twofactor.record_wrong_code(user.get_username(), ip=audit.client_ip(request))
        form.add_error("otp_token", texts.WRONG_CODE)
    return render(request, "registration/sign_in_code.html", {"form": form})


@sensitive_post_parameters("password1", "password2")
def signup(request: HttpRequest) -> HttpResponse:
    if not settings.KISWEB_SIGNUP_OPEN:
        raise Http404
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = SignUpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        user = actions.sign_up(
            form.cleaned_data["username"],
            form.cleaned_data["email"],
            form.cleaned_data["password1"],
            ip=audit.client_ip(request),
        )
        auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome! Add your KIS credential to begin."))
        return redirect("accounts:credential_create")
    return render(request, "registration/signup.html", {"form": form})


class PasswordChangeView(auth_views.PasswordChangeView):
    success_url = reverse_lazy("password_change_done")

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        response = super().form_valid(form)
        audit.record(self.request.user, AuditEvent.Action.PASSWORD_CHANGED, request=self.request)
        return response


@never_cache
@login_required
@sensitive_post_parameters("otp_token")
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    user = _member(request)
    if twofactor.has_two_factor(user):
        return render(request, "accounts/two_factor_on.html", {"form": OtpForm()})
    device = twofactor.pending_totp_device(user)
    form = OtpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        confirmed = twofactor.confirm_totp_device(
            user, form.cleaned_data["otp_token"], ip=audit.client_ip(request)
        )
        if confirmed is not None:
            otp_login(request, confirmed)
            messages.success(request, _("Two-factor sign-in is on."))
            return redirect("accounts:two_factor_setup")
        form.add_error("otp_token", texts.WRONG_CODE)
    return render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            "qr_svg": twofactor.totp_qr_svg(device),
            "manual_key": twofactor.totp_manual_key(device),
        },
    )


@require_POST
@login_required
@never_cache
@sensitive_post_parameters("otp_token")
def two_factor_disable(request: HttpRequest) -> HttpResponse:
    form = OtpForm(request.POST)
    if form.is_valid() and twofactor.disable_two_factor(
        _member(request), form.cleaned_data["otp_token"], ip=audit.client_ip(request)
    ):
        messages.success(request, _("Two-factor sign-in is off."))
        return redirect("accounts:two_factor_setup")
    form.add_error("otp_token", texts.WRONG_CODE)
    return render(request, "accounts/two_factor_on.html", {"form": form}, status=400)


# ---------------------------------------------------------------- credentials


@login_required
def credential_list(request: HttpRequest) -> HttpResponse:
    credentials = Credential.objects.owned_by(request.user)
    return render(request, "accounts/credential_list.html", {"credentials": credentials})


@never_cache
@login_required
@sensitive_post_parameters("app_secret")
def credential_create(request: HttpRequest) -> HttpResponseBase:
    form = CredentialForm(request.POST if request.method == "POST" else None, owner=request.user)
    if request.method == "POST" and form.is_valid():
        credential = actions.create_credential(
            _member(request), form.credential_input(), ip=audit.client_ip(request)
        )
        messages.success(request, _("Credential saved. Press “Verify” to check it with KIS."))
        return redirect(credential)
    return render(request, "accounts/credential_form.html", {"form": form})


@login_required
def credential_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    credential = _get_credential_for_user(request, pk)
    return render(
        request,
        "accounts/credential_detail.html",
        {
            "credential": credential,
            "tokens": credential.tokens.order_by("kind"),
            "secret_unreadable": texts.SECRET_UNREADABLE,
        },
    )


@never_cache
@login_required
@sensitive_post_parameters("app_secret")
def credential_edit(request: HttpRequest, pk: UUID) -> HttpResponseBase:
    credential = _get_credential_for_user(request, pk)
    form = CredentialForm(
        request.POST if request.method == "POST" else None, owner=request.user, instance=credential
    )
    if request.method == "POST" and form.is_valid():
        changed = actions.update_credential(
            request.user, credential, form.credential_input(), ip=audit.client_ip(request)
        )
        if changed:
            messages.success(request, _("Credential updated."))
        else:
            messages.info(request, _("Nothing was changed."))
        return redirect(credential)
    return render(
        request, "accounts/credential_form.html", {"form": form, "credential": credential}
    )


@login_required
def credential_delete(request: HttpRequest, pk: UUID) -> HttpResponse:
    credential = _get_credential_for_user(request, pk)
    if request.method == "POST":
        try:
            actions.delete_credential(request.user, credential, ip=audit.client_ip(request))
        except actions.CredentialHasOrders:
            messages.error(
                request,
                _(
                    "Orders in the journal were sent with this credential, and the journal "
                    "is kept whole, so it cannot be deleted. Disable it instead."
                ),
            )
            return redirect(credential)
        messages.success(request, _("Credential deleted."))
        return redirect("accounts:credential_list")
    return render(request, "accounts/credential_confirm_delete.html", {"credential": credential})


@require_POST
@login_required
def credential_verify(request: HttpRequest, pk: UUID) -> HttpResponseBase:
    credential = _get_credential_for_user(request, pk)
    try:
        result = actions.verify_credential(request.user, credential, ip=audit.client_ip(request))
    except (actions.SecondFactorRequired, actions.CredentialDisabled) as refusal:
        return _refuse_use(request, refusal)
    if result.ok:
        messages.success(request, result.message)
    else:
        messages.error(request, result.message)
    return redirect(credential)


@require_POST
@login_required
def credential_select(request: HttpRequest) -> HttpResponse:
    form = SelectCredentialForm(request.POST)
    if not form.is_valid():
        raise Http404
    credential = _get_credential_for_user(request, form.cleaned_data["credential"])
    try:
        actions.select_credential(request.user, credential, ip=audit.client_ip(request))
    except (actions.SecondFactorRequired, actions.CredentialDisabled) as refusal:
        return _refuse_use(request, refusal)
    messages.success(request, _("Now using “%(label)s”.") % {"label": credential.label})
    return redirect_to_next(request, form.cleaned_data["next"], reverse("accounts:credential_list"))


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    events = AuditEvent.objects.owned_by(request.user)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "accounts/audit_log.html", {"page": page})
