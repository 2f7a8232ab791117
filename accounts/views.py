"""Thin views: bind a form, call one action, redirect or render."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from accounts import actions, audit
from accounts.forms import CredentialForm, OtpForm, SelectCredentialForm, SignUpForm
from accounts.models import AuditEvent, Credential
from kisweb.redirects import redirect_to_next, safe_next_path

PENDING_SIGN_IN = "accounts:pending_sign_in"
PENDING_SIGN_IN_TTL_S = 300


def _get_credential_for_user(request, credential_id) -> Credential:
    # Another user's credential gets the same 404 as a missing one: no hint that it exists.
    return get_object_or_404(Credential.objects.owned_by(request.user), pk=credential_id)


def _refuse_use(request, refusal: Exception):
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

    redirect_authenticated_user = True

    def get_redirect_url(self):
        # A path only (never a URL name), and never this page: Django's view raises on a
        # signed-in visit whose ``next`` is the sign-in page itself.
        return safe_next_path(self.request, super().get_redirect_url(), "")

    def get_context_data(self, **kwargs):
        return super().get_context_data(signup_open=settings.KISWEB_SIGNUP_OPEN, **kwargs)

    def form_valid(self, form):
        user = form.get_user()
        if not actions.has_two_factor(user):
            return super().form_valid(form)
        self.request.session[PENDING_SIGN_IN] = {
            "user": user.pk,
            "backend": user.backend,
            "next": self.get_success_url(),
            "at": time.time(),
        }
        return redirect("accounts:sign_in_code")


@sensitive_post_parameters("otp_token")
@never_cache
def sign_in_code(request):
    pending = request.session.get(PENDING_SIGN_IN)
    if not pending or time.time() - pending["at"] > PENDING_SIGN_IN_TTL_S:
        request.session.pop(PENDING_SIGN_IN, None)
        messages.error(request, _("Sign in again: the code step timed out."))
        return redirect("login")
    user = get_object_or_404(get_user_model(), pk=pending["user"], is_active=True)
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = actions.check_totp(user, form.cleaned_data["otp_token"])
        if device is not None:
            del request.session[PENDING_SIGN_IN]
            auth_login(request, user, backend=pending["backend"])
            otp_login(request, device)
            return redirect_to_next(
                request, pending["next"], resolve_url(settings.LOGIN_REDIRECT_URL)
            )
        audit.record(
            None,
            AuditEvent.Action.SIGN_IN_FAILED,
            request=request,
            username=user.get_username(),
            step="code",
        )
        form.add_error(
            "otp_token", _("That code is not right. Wait for the next one and try again.")
        )
    return render(request, "registration/sign_in_code.html", {"form": form})


@sensitive_post_parameters("password1", "password2")
def signup(request):
    if not settings.KISWEB_SIGNUP_OPEN:
        raise Http404
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = SignUpForm(request.POST or None)
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

    def form_valid(self, form):
        response = super().form_valid(form)
        audit.record(self.request.user, AuditEvent.Action.PASSWORD_CHANGED, request=self.request)
        return response


@never_cache
@login_required
@sensitive_post_parameters("otp_token")
def two_factor_setup(request):
    if actions.has_two_factor(request.user):
        return render(request, "accounts/two_factor_on.html", {"form": OtpForm()})
    device = actions.pending_totp_device(request.user)
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        confirmed = actions.confirm_totp_device(
            request.user, form.cleaned_data["otp_token"], ip=audit.client_ip(request)
        )
        if confirmed is not None:
            otp_login(request, confirmed)
            messages.success(request, _("Two-factor sign-in is on."))
            return redirect("accounts:two_factor_setup")
        form.add_error(
            "otp_token", _("That code is not right. Wait for the next one and try again.")
        )
    return render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            "qr_svg": actions.totp_qr_svg(device),
            "manual_key": actions.totp_manual_key(device),
        },
    )


@require_POST
@login_required
@never_cache
@sensitive_post_parameters("otp_token")
def two_factor_disable(request):
    form = OtpForm(request.POST)
    if form.is_valid() and actions.disable_two_factor(
        request.user, form.cleaned_data["otp_token"], ip=audit.client_ip(request)
    ):
        messages.success(request, _("Two-factor sign-in is off."))
        return redirect("accounts:two_factor_setup")
    form.add_error("otp_token", _("That code is not right. Wait for the next one and try again."))
    return render(request, "accounts/two_factor_on.html", {"form": form}, status=400)


# ---------------------------------------------------------------- credentials


@login_required
def credential_list(request):
    credentials = Credential.objects.owned_by(request.user)
    return render(request, "accounts/credential_list.html", {"credentials": credentials})


@never_cache
@login_required
@sensitive_post_parameters("app_secret")
def credential_create(request):
    form = CredentialForm(request.POST or None, owner=request.user)
    if request.method == "POST" and form.is_valid():
        credential = actions.create_credential(
            request.user, form.credential_input(), ip=audit.client_ip(request)
        )
        messages.success(request, _("Credential saved. Press “Verify” to check it with KIS."))
        return redirect(credential)
    return render(request, "accounts/credential_form.html", {"form": form})


@login_required
def credential_detail(request, pk):
    credential = _get_credential_for_user(request, pk)
    return render(
        request,
        "accounts/credential_detail.html",
        {"credential": credential, "tokens": credential.tokens.order_by("kind")},
    )


@never_cache
@login_required
@sensitive_post_parameters("app_secret")
def credential_edit(request, pk):
    credential = _get_credential_for_user(request, pk)
    form = CredentialForm(request.POST or None, owner=request.user, instance=credential)
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
def credential_delete(request, pk):
    credential = _get_credential_for_user(request, pk)
    if request.method == "POST":
        actions.delete_credential(request.user, credential, ip=audit.client_ip(request))
        messages.success(request, _("Credential deleted."))
        return redirect("accounts:credential_list")
    return render(request, "accounts/credential_confirm_delete.html", {"credential": credential})


@require_POST
@login_required
def credential_verify(request, pk):
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
def credential_select(request):
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
def audit_log(request):
    events = AuditEvent.objects.owned_by(request.user)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "accounts/audit_log.html", {"page": page})
