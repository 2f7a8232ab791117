"""The whole accounts flow with every logger at DEBUG (as KISWEB_LOG_LEVEL=DEBUG sets the
root): no app secret, access token, approval key or password in any log line."""

import pytest
from asgiref.sync import async_to_sync
from django.urls import reverse

from accounts.kis import open_client
from accounts.models import Credential, KisToken
from kisweb.kis.realtime.session import RealtimeSession
from kisweb.kissim import make_account
from tests.conftest import ALICE_PASSWORD

pytestmark = pytest.mark.django_db


async def _stream_quotes(credential):
    async with open_client(credential) as client:
        session = RealtimeSession(client)
        await session.start()
        await session.wait_open(10)
        await session.subscribe("H0STCNT0", "005930")
        await session.aclose()


def test_no_secret_in_any_log_line(client, alice, kis_endpoints, caplog):
    caplog.set_level("DEBUG")
    account = kis_endpoints.add_account(make_account("paper"))
    form = {
        "label": "Logged",
        "environment": "paper",
        "app_key": account.appkey,
        "app_secret": account.appsecret,
        "account_number": f"{account.cano}-{account.acnt_prdt_cd}",
        "hts_id": account.hts_id,
    }
    client.post(reverse("login"), {"username": "alice", "password": ALICE_PASSWORD})
    client.post(reverse("accounts:credential_create"), {**form, "app_secret": "short"})
    assert client.post(reverse("accounts:credential_create"), form).status_code == 302
    credential = Credential.objects.get(label="Logged")
    client.post(reverse("accounts:credential_verify", args=[credential.pk]))
    client.post(reverse("accounts:credential_select"), {"credential": str(credential.pk)})
    client.post(
        reverse("accounts:credential_edit", args=[credential.pk]),
        {**form, "label": "Logged 2", "is_enabled": "on"},
    )
    async_to_sync(_stream_quotes)(credential)
    client.post(reverse("logout"))

    tokens = {token.kind: token.reveal_value() for token in KisToken.objects.all()}
    assert {"access", "approval"} <= set(tokens)
    logged = caplog.text + "".join(str(record.args) for record in caplog.records)
    assert "Logged 2" in logged  # the audit lines were captured
    for secret in (account.appsecret, ALICE_PASSWORD, *tokens.values()):
        assert secret not in logged
        # websockets' DEBUG lines show the first part of a frame: not even that.
        assert secret[:12] not in logged
