"""Two-factor sign-in with an authenticator app (TOTP, django-otp): setting it up, turning
it off, and the sign-in step between the password and the code.

A person with a confirmed device signs in in two steps: the password is checked, the
sign-in waits in the session (``start_code_step``) for at most ``CODE_STEP_TTL_S``, and
only a right code finishes it.
"""

from __future__ import annotations

import time
from base64 import b32encode
from dataclasses import dataclass

import qrcode  # type: ignore[import-untyped]  # no type information (types-qrcode exists)
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django_otp.plugins.otp_totp.models import (  # type: ignore[import-untyped]  # untyped
    TOTPDevice,
)
from qrcode.image.svg import SvgPathImage  # type: ignore[import-untyped]  # as qrcode above

from accounts import audit
from accounts.models import AuditEvent

Action = AuditEvent.Action
AnyUser = User | AnonymousUser

PENDING_SIGN_IN = "accounts:pending_sign_in"
CODE_STEP_TTL_S = 300


@dataclass(frozen=True)
class PendingSignIn:
    """A sign-in whose password was right, waiting for its code."""

    user_pk: str
    backend: str
    next_url: str


def start_code_step(session: SessionBase, user: User, next_url: str) -> None:
    """Park a sign-in whose password was right until the code comes (or time is up)."""
    session[PENDING_SIGN_IN] = {
        "user": str(user.pk),
        "backend": getattr(user, "backend", ""),
        "next": next_url,
        "at": time.time(),
    }


def pending_sign_in(session: SessionBase) -> PendingSignIn | None:
    """The sign-in waiting for its code; None when there is none or its time is up (it is
    then dropped, and the person signs in again)."""
    pending = session.get(PENDING_SIGN_IN)
    if not pending or time.time() - pending["at"] > CODE_STEP_TTL_S:
        session.pop(PENDING_SIGN_IN, None)
        return None
    return PendingSignIn(
        user_pk=str(pending["user"]), backend=pending["backend"], next_url=pending["next"]
    )


def end_code_step(session: SessionBase) -> None:
    session.pop(PENDING_SIGN_IN, None)


def record_wrong_code(username: str, *, ip: str | None) -> None:
    audit.record(None, Action.SIGN_IN_FAILED, ip=ip, username=username, step="code")


def pending_totp_device(user: User) -> TOTPDevice:
    """The authenticator being set up: an unconfirmed TOTP device, made on first use."""
    device = TOTPDevice.objects.devices_for_user(user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="default", confirmed=False)


def has_two_factor(user: AnyUser) -> bool:
    return bool(TOTPDevice.objects.devices_for_user(user, confirmed=True).exists())


def check_totp(user: AnyUser, code: str, *, confirmed: bool = True) -> TOTPDevice | None:
    """The user's device that accepts ``code`` (throttled and replay-proof, as django-otp
    does it), or None."""
    for device in TOTPDevice.objects.devices_for_user(user, confirmed=confirmed):
        allowed, _reason = device.verify_is_allowed()
        if allowed and device.verify_token(code):
            return device
    return None


def confirm_totp_device(user: User, code: str, *, ip: str | None = None) -> TOTPDevice | None:
    """Turn two-factor sign-in on once the pending device shows a right code."""
    device = check_totp(user, code, confirmed=False)
    if device is None:
        return None
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.devices_for_user(user, confirmed=True).exclude(pk=device.pk).delete()
        audit.record(user, Action.TWO_FACTOR_ENABLED, ip=ip)
    return device


def disable_two_factor(user: User, code: str, *, ip: str | None = None) -> bool:
    """Turn two-factor sign-in off; a current code is required."""
    if check_totp(user, code) is None:
        return False
    with transaction.atomic():
        TOTPDevice.objects.devices_for_user(user, confirmed=None).delete()
        audit.record(user, Action.TWO_FACTOR_DISABLED, ip=ip)
    return True


def totp_qr_svg(device: TOTPDevice) -> str:
    """The device's ``otpauth://`` URL as an inline SVG QR code (no script, no request)."""
    image = qrcode.make(device.config_url, image_factory=SvgPathImage, box_size=8)
    svg: str = image.to_string(encoding="unicode")
    return svg.split("?>", 1)[-1].strip()


def totp_manual_key(device: TOTPDevice) -> str:
    """The device key in base32, as authenticator apps take it when typed by hand."""
    return b32encode(device.bin_key).decode().rstrip("=")
