"""Reading kisweb's settings from the environment (12-factor).

Kept apart from settings.py so the parsing rules are plain functions that tests can call.
Demo mode needs nothing: secrets it must have are generated once into the var directory.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

MODES = ("demo", "real", "hosted")

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def read_mode() -> str:
    mode = env_str("KISWEB_MODE", "demo").lower()
    if mode not in MODES:
        raise ImproperlyConfigured(f"KISWEB_MODE must be one of {', '.join(MODES)}, not {mode!r}")
    return mode


def generated_secret(path: Path, make: Callable[[], str]) -> str:
    """Read a secret generated earlier into `path`, or make one now (demo mode only).

    The file is created with mode 0600 so only the demo's own user can read it.
    """
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its value
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def new_encryption_key_line() -> str:
    """One `id:base64key` pair with a fresh random 256-bit key."""
    key_id = secrets.token_hex(4)
    return f"{key_id}:{base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}"


def parse_encryption_keys(text: str, source: str) -> list[tuple[str, bytes]]:
    """Parse `id:base64key` pairs (comma or newline separated); the first is primary.

    Each key must decode to exactly 32 bytes (AES-256); ids must be unique. The error
    names the source and the position, never the key material.
    """
    pairs: list[tuple[str, bytes]] = []
    entries = [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]
    if not entries:
        raise ImproperlyConfigured(f"{source} holds no encryption key")
    for position, entry in enumerate(entries, start=1):
        key_id, sep, encoded = entry.partition(":")
        if not sep or not key_id or not key_id.isalnum():
            raise ImproperlyConfigured(
                f"{source}: key {position} must look like id:base64key (id letters and digits)"
            )
        try:
            key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except ValueError:
            raise ImproperlyConfigured(f"{source}: key {position} is not base64") from None
        if len(key) != 32:
            raise ImproperlyConfigured(f"{source}: key {position} must be 32 bytes, not {len(key)}")
        if key_id in dict(pairs):
            raise ImproperlyConfigured(f"{source}: key id {key_id!r} appears twice")
        pairs.append((key_id, key))
    return pairs


def read_encryption_keys(mode: str, var_dir: Path) -> list[tuple[str, bytes]]:
    """KISWEB_ENCRYPTION_KEYS, or the file named by KISWEB_ENCRYPTION_KEYS_FILE.

    Outside hosted mode a key is generated into var/encryption_keys when none is given.
    """
    inline = env_str("KISWEB_ENCRYPTION_KEYS")
    if inline:
        return parse_encryption_keys(inline, "KISWEB_ENCRYPTION_KEYS")
    key_file = env_str("KISWEB_ENCRYPTION_KEYS_FILE")
    if key_file:
        try:
            text = Path(key_file).read_text()
        except OSError as error:
            raise ImproperlyConfigured(
                f"KISWEB_ENCRYPTION_KEYS_FILE cannot be read: {error.strerror}"
            ) from None
        return parse_encryption_keys(text, "KISWEB_ENCRYPTION_KEYS_FILE")
    if mode == "hosted":
        raise ImproperlyConfigured(
            "hosted mode needs KISWEB_ENCRYPTION_KEYS or KISWEB_ENCRYPTION_KEYS_FILE"
        )
    path = var_dir / "encryption_keys"
    return parse_encryption_keys(generated_secret(path, new_encryption_key_line), str(path))


def read_secret_key(mode: str, var_dir: Path) -> str:
    value = env_str("DJANGO_SECRET_KEY") or env_str("KISWEB_SECRET_KEY")
    if value:
        return value
    if mode == "hosted":
        raise ImproperlyConfigured("hosted mode needs DJANGO_SECRET_KEY")
    return generated_secret(var_dir / "secret_key", lambda: secrets.token_urlsafe(50))
