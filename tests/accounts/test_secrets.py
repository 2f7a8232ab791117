"""Secrets at rest: sealing, failing closed, rotation, and no plaintext in the database."""

import base64

import pytest
from django.core.management import call_command
from django.db import connection

from accounts.models import Credential, KisToken
from accounts.secrets import SecretUnavailable, seal, sealed_key_id, unseal

KEY_A = ("keya", b"A" * 32)
KEY_B = ("keyb", b"B" * 32)


def test_a_sealed_value_opens_with_its_context(settings):
    settings.KISWEB_ENCRYPTION_KEYS = [KEY_A]
    stored = seal("my secret", context="credential:1:app_secret")
    assert stored.startswith("v1:keya:")
    assert "my secret" not in stored
    assert unseal(stored, context="credential:1:app_secret") == "my secret"


def test_a_sealed_value_does_not_open_in_another_row(settings):
    settings.KISWEB_ENCRYPTION_KEYS = [KEY_A]
    stored = seal("my secret", context="credential:1:app_secret")
    with pytest.raises(SecretUnavailable):
        unseal(stored, context="credential:2:app_secret")


def test_unseal_fails_closed_on_a_missing_key(settings):
    settings.KISWEB_ENCRYPTION_KEYS = [KEY_A]
    stored = seal("my secret", context="c")
    settings.KISWEB_ENCRYPTION_KEYS = [KEY_B]
    with pytest.raises(SecretUnavailable) as raised:
        unseal(stored, context="c")
    assert "my secret" not in str(raised.value)
    assert stored not in str(raised.value)


@pytest.mark.parametrize(
    "stored",
    ["", "plain text", "v2:keya:AAAA", "v1:keya:not-base64!", "v1:keya:" + "A" * 8, "v1:keya"],
)
def test_unseal_fails_closed_on_damaged_values(settings, stored):
    settings.KISWEB_ENCRYPTION_KEYS = [KEY_A]
    with pytest.raises(SecretUnavailable):
        unseal(stored, context="c")


def test_a_flipped_bit_is_detected(settings):
    settings.KISWEB_ENCRYPTION_KEYS = [KEY_A]
    stored = seal("my secret", context="c")
    raw = bytearray(base64.urlsafe_b64decode(stored.split(":", 2)[2]))
    raw[-1] ^= 1
    with pytest.raises(SecretUnavailable):
        unseal(f"v1:keya:{base64.urlsafe_b64encode(bytes(raw)).decode()}", context="c")


def _raw_columns():
    with connection.cursor() as cursor:
        cursor.execute("select app_secret_enc from accounts_credential")
        secrets = [row[0] for row in cursor.fetchall()]
        cursor.execute("select value_enc from accounts_kistoken")
        tokens = [row[0] for row in cursor.fetchall()]
    return secrets, tokens


def _dump_tables() -> str:
    with connection.cursor() as cursor:
        text = []
        for table in ("accounts_credential", "accounts_kistoken", "accounts_auditevent"):
            cursor.execute(f"select * from {table}")  # noqa: S608 - fixed table names
            text.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(text)


@pytest.mark.django_db
def test_the_database_holds_no_plaintext_secret(client, alice, alice_credential):
    client.force_login(alice)
    client.post(f"/accounts/credentials/{alice_credential.pk}/verify/")
    secret = alice_credential.reveal_app_secret()
    token = KisToken.objects.get(credential=alice_credential).reveal_value()

    dump = _dump_tables()
    assert secret not in dump
    assert token not in dump
    secrets, tokens = _raw_columns()
    assert [value.split(":")[0] for value in secrets + tokens] == ["v1", "v1"]


def test_repr_and_str_hold_no_secret(db, alice_credential):
    secret = alice_credential.reveal_app_secret()
    assert secret not in repr(alice_credential)
    assert secret not in str(alice_credential)
    assert alice_credential.app_key not in repr(alice_credential)


@pytest.mark.django_db
def test_rotation_reseals_under_the_new_key_and_the_old_key_can_go(
    settings, client, alice, alice_credential
):
    secret = alice_credential.reveal_app_secret()
    settings.KISWEB_ENCRYPTION_KEYS = [KEY_A]
    alice_credential.set_app_secret(secret)
    alice_credential.save()
    client.force_login(alice)
    client.post(f"/accounts/credentials/{alice_credential.pk}/verify/")
    token = KisToken.objects.get(credential=alice_credential)
    assert sealed_key_id(token.value_enc) == "keya"
    token_value = token.reveal_value()

    settings.KISWEB_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    call_command("rotate_encryption_key", stdout=open("/dev/null", "w"))  # noqa: SIM115
    secrets, tokens = _raw_columns()
    assert [sealed_key_id(value) for value in secrets + tokens] == ["keyb", "keyb"]

    settings.KISWEB_ENCRYPTION_KEYS = [KEY_B]
    alice_credential.refresh_from_db()
    assert alice_credential.reveal_app_secret() == secret
    assert KisToken.objects.get(credential=alice_credential).reveal_value() == token_value


@pytest.mark.django_db
def test_rotation_leaves_rows_already_under_the_primary_key_untouched(
    settings, alice_credential, capsys
):
    settings.KISWEB_ENCRYPTION_KEYS = [KEY_B]
    alice_credential.set_app_secret("S" * 180)
    alice_credential.save()
    before, _ = _raw_columns()

    call_command("rotate_encryption_key")
    call_command("rotate_encryption_key")

    assert _raw_columns()[0] == before
    assert capsys.readouterr().out.splitlines()[-1] == (
        "Re-sealed 0 secret(s) under key 'keyb'; 1 were already under it."
    )


@pytest.mark.django_db
def test_rotation_reports_a_secret_no_key_opens(settings, alice_credential):
    settings.KISWEB_ENCRYPTION_KEYS = [KEY_A]
    alice_credential.set_app_secret("S" * 180)
    alice_credential.save()
    settings.KISWEB_ENCRYPTION_KEYS = [KEY_B]
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="1 secret"):
        call_command("rotate_encryption_key")
    assert Credential.objects.get(pk=alice_credential.pk).app_secret_enc == (
        alice_credential.app_secret_enc
    )
