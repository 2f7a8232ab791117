"""Secrets at rest: AES-256-GCM with keys from ``settings.KISWEB_ENCRYPTION_KEYS``.

A sealed value reads ``v1:<key_id>:<urlsafe base64 of nonce + ciphertext>``. The key id
says which key opens it, so old keys keep working after a new primary key is added (and
``manage.py rotate_encryption_key`` re-seals everything under the primary). The ``context``
(e.g. ``credential:<uuid>:app_secret``) is bound in as associated data: a ciphertext
copied to another row or field does not open there.
"""

from __future__ import annotations

import os
from base64 import urlsafe_b64decode, urlsafe_b64encode

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

VERSION = "v1"
NONCE_BYTES = 12


class SecretUnavailable(Exception):
    """The stored secret can't be opened (unknown key, damaged, wrong context).

    Carries only the context, never the stored value or any plaintext.
    """


def seal(plain: str, *, context: str) -> str:
    """Encrypt ``plain`` under the primary key, bound to ``context``."""
    key_id, key = settings.KISWEB_ENCRYPTION_KEYS[0]
    nonce = os.urandom(NONCE_BYTES)
    box = AESGCM(key).encrypt(nonce, plain.encode(), context.encode())
    return f"{VERSION}:{key_id}:{urlsafe_b64encode(nonce + box).decode()}"


def unseal(stored: str, *, context: str) -> str:
    """Decrypt a value made by ``seal`` with the same context. Fails closed: any problem
    raises ``SecretUnavailable``; it never returns the ciphertext or an empty string."""
    try:
        version, key_id, body = stored.split(":", 2)
        if version != VERSION:
            raise ValueError(version)
        raw = urlsafe_b64decode(body)
        if len(raw) <= NONCE_BYTES:
            raise ValueError("too short")
        key = dict(settings.KISWEB_ENCRYPTION_KEYS)[key_id]
        return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()).decode()
    except (ValueError, KeyError, InvalidTag, AttributeError):
        raise SecretUnavailable(context) from None


def sealed_key_id(stored: str) -> str:
    """The id of the key a sealed value was made with ("" when it is not a sealed value)."""
    version, _, rest = stored.partition(":")
    return rest.partition(":")[0] if version == VERSION else ""


def is_sealed_under_primary(stored: str) -> bool:
    return sealed_key_id(stored) == settings.KISWEB_ENCRYPTION_KEYS[0][0]


def mask(value: str, *, show: int = 4) -> str:
    """``PSab…x9Q2``-style mask for identifying values (app keys): first and last ``show``
    characters. Short values show nothing."""
    if len(value) <= show * 3:
        return "…"
    return f"{value[:show]}…{value[-show:]}"
