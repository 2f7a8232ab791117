"""`ensure_demo_data`: the demo user with a verified paper credential, idempotent."""

import io

import pytest
from django.contrib.auth import get_user_model

from accounts.demo import DEMO_USERNAME, ensure_demo_data
from accounts.models import Credential
from kisweb.kissim import DEMO_ACCOUNTS

pytestmark = pytest.mark.django_db


def test_demo_data_is_a_selected_verified_paper_credential(kis_endpoints):
    paper = next(account for account in DEMO_ACCOUNTS if account.env == "paper")
    out = io.StringIO()
    user = ensure_demo_data(stdout=out)
    again = ensure_demo_data(stdout=out)

    assert again == user == get_user_model().objects.get(username=DEMO_USERNAME)
    credential = Credential.objects.get(owner=user)
    assert (credential.app_key, credential.account_number, credential.environment) == (
        paper.appkey,
        paper.cano,
        "paper",
    )
    assert credential.reveal_app_secret() == paper.appsecret
    assert (credential.is_selected, credential.verified_at is not None) == (True, True)
    assert credential.tokens.count() == 1
    assert out.getvalue().count("Demo credential verified") == 2


def test_demo_data_says_why_verification_failed_and_goes_on(settings, kis_endpoints):
    settings.KISWEB_KIS_ENDPOINTS = {
        **settings.KISWEB_KIS_ENDPOINTS,
        "paper": {"rest": "http://127.0.0.1:9", "ws": "ws://127.0.0.1:9"},
    }
    out = io.StringIO()
    user = ensure_demo_data(stdout=out)
    assert Credential.objects.filter(owner=user, is_selected=True).count() == 1
    assert out.getvalue().startswith("Demo credential not verified: ")
