"""Credentials in the browser: register, verify against the simulator, masked, owner-only."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import Credential
from accounts.secrets import mask
from kisweb.kissim.accounts import make_account
from tests.conftest import ALICE_PASSWORD, BOB_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sim_account(simulator):
    """A fresh paper customer the simulator knows: its keys are what the user types in."""
    return simulator.call(simulator.sim.add_account, make_account("paper"))


def test_register_verify_and_see_the_credential_masked(
    signed_in_page, make_member, simulator, sim_account
):
    page = signed_in_page(make_member("carol"))
    page.goto(reverse("accounts:credential_create"))
    form = page.locator("form.credential-form")
    form.locator("input[name=label]").fill("모의 메인")
    form.locator("input[name=environment][value=paper]").check()
    form.locator("input[name=app_key]").fill(sim_account.appkey)
    form.locator("input[name=app_secret]").fill(sim_account.appsecret)
    form.locator("input[name=account_number]").fill(
        f"{sim_account.cano}-{sim_account.acnt_prdt_cd}"
    )
    form.locator("input[name=hts_id]").fill(sim_account.hts_id)
    form.locator("button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/accounts/credentials/[0-9a-f-]{36}/$"))
    credential = Credential.objects.get(owner__username="carol")
    expect(page.locator("dl.credential code")).to_have_text(mask(sim_account.appkey))
    html = page.content()
    assert sim_account.appsecret not in html
    assert sim_account.appkey not in html

    page.locator("main form[action$='/verify/'] button[type=submit]").click()
    expect(page.locator(".toast--success[role=status]")).to_have_count(1)
    expect(page.locator(".toast--error")).to_have_count(0)
    assert simulator.sim.stats.token_issues(sim_account.appkey) == 1
    credential.refresh_from_db()
    assert credential.verified_at is not None
    assert sim_account.appsecret not in page.content()

    # The toast goes away when dismissed (the one script on the page).
    page.locator(".toast .toast-close").click()
    expect(page.locator(".toast")).to_have_count(0)

    # The first credential is the one in use: the top bar says loudly that it is paper.
    badge = page.locator(".topbar .env-badge")
    expect(badge).to_have_text("모의투자")
    expect(badge).to_have_class("env-badge env-badge--paper")
    expect(page.locator(".topbar .credential-label")).to_have_text("모의 메인")


def test_owner_reaches_their_credential_by_url(signed_in_page, alice, alice_credential):
    page = signed_in_page(alice, ALICE_PASSWORD)
    response = page.goto(alice_credential.get_absolute_url())
    assert response.status == 200
    expect(page.locator("h1")).to_have_text(alice_credential.label)


def test_bob_cannot_reach_alice_credential_by_url(
    signed_in_page, console_watch, bob, alice_credential
):
    page = signed_in_page(bob, BOB_PASSWORD)
    console_watch.expect("the server responded with a status of 404")

    response = page.goto(alice_credential.get_absolute_url())
    assert response.status == 404
    expect(page.locator(".error-code")).to_have_text("404")
    assert alice_credential.label not in page.content()

    # Nor can he make it act: verifying it by POST is the same 404, and KIS hears nothing.
    token = page.locator("form.sign-out input[name=csrfmiddlewaretoken]").input_value()
    verify = reverse("accounts:credential_verify", args=[alice_credential.pk])
    answer = page.request.post(verify, form={"csrfmiddlewaretoken": token})
    assert answer.status == 404
    alice_credential.refresh_from_db()
    assert alice_credential.verified_at is None


@pytest.mark.parametrize(
    ("environment", "text", "background"),
    [("paper", "모의투자", "rgb(230, 244, 234)"), ("real", "실전투자", "rgb(196, 0, 0)")],
    ids=["paper", "real"],
)
def test_the_badge_colour_tells_paper_from_real(
    signed_in_page, make_member, make_credential, environment, text, background
):
    member = make_member("erin")
    make_credential(member, environment=environment)  # the first one is in use

    page = signed_in_page(member)
    badge = page.locator(".topbar .env-badge")
    expect(badge).to_have_text(text)
    assert badge.evaluate("e => getComputedStyle(e).backgroundColor") == background
