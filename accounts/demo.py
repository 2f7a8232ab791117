"""The demo's sign-in: a fixed user that only ever exists in demo mode, with a paper
credential for the simulator's paper demo customer, selected and verified."""

import sys
from typing import TextIO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User

from accounts import actions
from accounts.models import Credential
from kisweb.kissim import DEMO_ACCOUNTS

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "kisweb-demo"  # noqa: S105 - printed by `make demo`; demo mode only
DEMO_CREDENTIAL_LABEL = "Demo paper account"


def ensure_demo_data(stdout: TextIO = sys.stdout) -> User:
    """Create the demo user and credential (idempotent) and verify the credential against
    the running simulator; a failed verification is printed, not raised. Refuses outside
    demo mode."""
    if settings.KISWEB_MODE != "demo":
        raise RuntimeError("demo data is only for demo mode")
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=DEMO_USERNAME)
    if created or not user.check_password(DEMO_PASSWORD):
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])

    account = next(account for account in DEMO_ACCOUNTS if account.env == "paper")
    wanted = actions.CredentialInput(
        label=DEMO_CREDENTIAL_LABEL,
        environment=Credential.Environment.PAPER,
        app_key=account.appkey,
        app_secret=account.appsecret,
        account_number=account.cano,
        product_code=account.acnt_prdt_cd,
        hts_id=account.hts_id,
    )
    credential = Credential.objects.owned_by(user).filter(label=DEMO_CREDENTIAL_LABEL).first()
    if credential is None:
        credential = actions.create_credential(user, wanted)
    elif credential.app_key != account.appkey or not credential.is_enabled:
        actions.update_credential(user, credential, wanted)
    actions.select_credential(user, credential)

    result = actions.verify_credential(user, credential)
    if result.ok:
        stdout.write(f"Demo credential verified: {result.message}\n")
    else:
        stdout.write(f"Demo credential not verified: {result.message}\n")
    return user
