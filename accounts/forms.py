"""Forms: they parse and validate; ``accounts.actions`` writes."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm, UsernameField
from django.contrib.auth.models import AnonymousUser, User
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from accounts.actions import CredentialInput
from accounts.models import Credential
from accounts.printable import has_unprintable
from accounts.texts import SECRET_UNREADABLE

if TYPE_CHECKING:
    _UserCreationForm = UserCreationForm[User]
else:
    # Django's form takes no type argument at run time (django-stubs' does).
    _UserCreationForm = UserCreationForm

# docs/kis-protocol.md §1: KIS app keys are 36 characters, app secrets 180 (python-kis checks the
# same). A wrong length is almost always a copy-paste accident, so it is refused here.
APP_KEY_LENGTH = 36
APP_SECRET_LENGTH = 180
# ASCII digits only: ``\d`` alone would take full-width or Arabic-Indic digits, which KIS
# never issues and the client would send as they are.
ACCOUNT_NUMBER = re.compile(r"(\d{8})-?(\d{2})", re.ASCII)
HTS_ID = re.compile(r"[A-Za-z0-9_.-]{1,20}")
# Keys and secrets travel in HTTP headers, which carry ASCII only: anything else (a Korean
# letter, a zero-width space from a chat app) could never work and made the KIS call fail.
PRINTABLE_ASCII = re.compile(r"[!-~]+")


def _no_whitespace(value: str, length: int, what: str) -> str:
    if not value or any(character.isspace() for character in value):
        raise forms.ValidationError(
            _("Enter the %(what)s without spaces or line breaks."), params={"what": what}
        )
    if not PRINTABLE_ASCII.fullmatch(value):
        raise forms.ValidationError(
            _(
                "A KIS %(what)s holds only English letters, digits and symbols. "
                "Copy it again from the KIS site."
            ),
            params={"what": what},
        )
    if len(value) != length:
        raise forms.ValidationError(
            _("A KIS %(what)s is %(length)d characters long; this one has %(actual)d."),
            params={"what": what, "length": length, "actual": len(value)},
        )
    return value


class CredentialForm(forms.Form):
    """Add or edit a KIS credential. On edit a blank app secret keeps the stored one."""

    label = forms.CharField(
        label=_("Label"),
        max_length=60,
        help_text=_("A name you recognise, e.g. “Main account”."),
    )
    environment = forms.ChoiceField(
        label=_("Environment"),
        choices=Credential.Environment.choices,
        initial=Credential.Environment.PAPER,
        widget=forms.RadioSelect,
    )
    app_key = forms.CharField(label=_("App key"), max_length=64, strip=True)
    app_secret = forms.CharField(
        label=_("App secret"),
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    account_number = forms.CharField(
        label=_("Account number"),
        max_length=20,
        help_text=_("8 digits, a hyphen and the 2-digit product code, e.g. 12345678-01."),
    )
    hts_id = forms.CharField(label=_("HTS ID"), max_length=20)
    is_enabled = forms.BooleanField(
        label=_("Enabled"),
        required=False,
        initial=True,
        help_text=_("A disabled credential is kept but never used."),
    )

    def __init__(
        self,
        *args: Any,
        owner: User | AnonymousUser,
        instance: Credential | None = None,
        **kwargs: Any,
    ) -> None:
        self.owner = owner
        self.instance = instance
        if instance is not None:
            kwargs.setdefault(
                "initial",
                {
                    "label": instance.label,
                    "environment": instance.environment,
                    "account_number": instance.account_display,
                    "hts_id": instance.hts_id,
                    "is_enabled": instance.is_enabled,
                },
            )
        super().__init__(*args, **kwargs)
        if instance is None:
            del self.fields["is_enabled"]
        else:
            # The app key is shown masked even here: blank keeps it, like the secret.
            self.fields["app_key"].required = False
            self.fields["app_key"].widget.attrs["placeholder"] = instance.app_key_masked
            self.fields["app_key"].help_text = _("Leave blank to keep the stored app key.")
            if instance.secret_is_readable:
                self.fields["app_secret"].required = False
                self.fields["app_secret"].help_text = _("Leave blank to keep the stored secret.")
            else:
                # Keeping a secret no key opens would keep the credential unusable.
                self.fields["app_secret"].help_text = SECRET_UNREADABLE

    def clean_label(self) -> str:
        label: str = self.cleaned_data["label"]
        if has_unprintable(label):
            raise forms.ValidationError(
                _("Enter the label on one line, without control characters.")
            )
        taken = Credential.objects.owned_by(self.owner).filter(label=label)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(_("You already have a credential with this label."))
        return label

    def clean_app_key(self) -> str:
        if not self.cleaned_data["app_key"] and self.instance is not None:
            return self.instance.app_key
        return _no_whitespace(self.cleaned_data["app_key"], APP_KEY_LENGTH, str(_("app key")))

    def clean_app_secret(self) -> str:
        secret = self.cleaned_data["app_secret"]
        if not secret and self.instance is not None:
            return ""
        return _no_whitespace(secret, APP_SECRET_LENGTH, str(_("app secret")))

    def clean_account_number(self) -> str:
        match = ACCOUNT_NUMBER.fullmatch(self.cleaned_data["account_number"].strip())
        if match is None:
            raise forms.ValidationError(
                _(
                    "Enter the account number as 8 digits, a hyphen and the 2-digit "
                    "product code, e.g. 12345678-01."
                )
            )
        return f"{match[1]}-{match[2]}"

    def clean_hts_id(self) -> str:
        hts_id: str = self.cleaned_data["hts_id"].strip()
        if not HTS_ID.fullmatch(hts_id):
            raise forms.ValidationError(
                _("Enter your HTS ID: letters, digits, “.”, “_” or “-”, at most 20.")
            )
        return hts_id

    def credential_input(self) -> CredentialInput:
        data = self.cleaned_data
        account, product = data["account_number"].split("-")
        return CredentialInput(
            label=data["label"],
            environment=data["environment"],
            app_key=data["app_key"],
            app_secret=data["app_secret"],
            account_number=account,
            product_code=product,
            hts_id=data["hts_id"],
            is_enabled=data.get("is_enabled", True),
        )


class SelectCredentialForm(forms.Form):
    """The top bar's switcher: which of my credentials to use."""

    credential = forms.UUIDField()
    next = forms.CharField(required=False)


class OtpForm(forms.Form):
    """A six-digit code from the authenticator app."""

    otp_token = forms.RegexField(
        label=_("Code"),
        regex=r"^\d{6}$",
        max_length=6,
        error_messages={"invalid": _("Enter the 6-digit code from your authenticator app.")},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class SignInForm(AuthenticationForm):
    """Django's form sets the username's ``max_length`` only on the widget, so a longer
    name still reached ``authenticate()``, whose failure signal made django-axes store it
    in a 255-character column: a 500 on PostgreSQL. No account has a longer name, so it
    is refused here, before anything is looked up or written."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        longest = self.username_field.max_length or 254  # as Django's form reckons it
        self.fields["username"].validators.append(MaxLengthValidator(longest))


class SignUpForm(_UserCreationForm):
    class Meta:
        model = get_user_model()
        fields = ("username", "email")
        field_classes: ClassVar = {"username": UsernameField}  # as UserCreationForm.Meta has it
