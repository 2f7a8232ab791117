"""Commission and tax per credential: the model, its page, and the ticket's estimate."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from tests.helpers import ticket_form
from trading import rules
from trading.models import FeeSettings, Order, rates_for

pytestmark = pytest.mark.django_db

FEES = reverse("trading:fees")


def fee_form(**fields: str) -> dict[str, str]:
    return {
        "commission_pct": "0.015",
        "kospi_sell_tax_pct": "0.20",
        "kosdaq_sell_tax_pct": "0.20",
        "us_commission_pct": "0.25",
        "us_sell_fee_pct": "0.00278",
        **fields,
    }


def test_kospi_and_kosdaq_sells_take_their_own_tax_rate_truncated_to_the_won():
    rates = rules.CostRates(
        commission=Decimal(0),
        sell_tax=Decimal("0.0020"),
        us_commission=Decimal(0),
        us_sell_fee=Decimal(0),
        kosdaq_sell_tax=Decimal("0.0015"),
    )
    kospi = rules.estimate("KRX", "sell", Decimal(12345), 7, rates, listing="KOSPI")
    kosdaq = rules.estimate("KRX", "sell", Decimal(12345), 7, rates, listing="KOSDAQ")
    assert kospi.tax == Decimal(172)  # 86,415 × 0.20 % = 172.83, cut below the won
    assert kosdaq.tax == Decimal(129)  # 86,415 × 0.15 % = 129.6225
    assert kosdaq.total == Decimal(86415 - 129)
    unknown = rules.estimate("KRX", "sell", Decimal(12345), 7, rates)
    assert unknown.tax == kospi.tax  # an unknown listing is taxed at the KOSPI rate


def test_percent_fields_become_fractions_and_a_credential_without_a_row_gets_the_site_rates(
    credential, settings
):
    settings.KISWEB_TRADING_COST_RATES = {"commission": "0.0003"}
    assert rates_for(credential).commission == Decimal("0.0003")
    FeeSettings.objects.create(
        credential=credential, commission_pct=Decimal("0.015"), kosdaq_sell_tax_pct=Decimal("0.1")
    )
    own = rates_for(credential)
    assert own.commission == Decimal("0.00015")
    assert own.sell_tax == Decimal("0.002")
    assert own.sell_tax_for("KOSDAQ") == Decimal("0.001")
    assert isinstance(own.commission, Decimal)


def test_the_fees_page_starts_from_the_site_rates_and_saves_the_credentials_own(
    credential, alice_client
):
    page = alice_client.get(FEES)
    assert page.status_code == 200
    text = page.content.decode()
    assert 'value="0.0140527"' in text  # the documented default commission, in percent
    assert "uses the site's rates" in text
    saved = alice_client.post(FEES, fee_form(commission_pct="0.015"))
    assert saved.status_code == 302
    own = FeeSettings.objects.get(credential=credential)
    assert own.commission_pct == Decimal("0.015")
    event = AuditEvent.objects.filter(action="trading.fees_changed").get()
    assert Decimal(event.detail["rates"]["commission_pct"]) == Decimal("0.015")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"commission_pct": "-0.1"}, "greater than or equal to 0"),
        ({"kospi_sell_tax_pct": "7"}, "less than or equal to 5"),
        ({"us_commission_pct": "a lot"}, "Enter a number."),
        ({"kosdaq_sell_tax_pct": ""}, "This field is required."),
    ],
)
def test_bad_rates_are_refused_in_words_and_nothing_is_saved(
    credential, alice_client, fields, message
):
    response = alice_client.post(FEES, fee_form(**fields))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not FeeSettings.objects.exists()


def test_reset_goes_back_to_the_site_rates(credential, alice_client):
    FeeSettings.objects.create(credential=credential, commission_pct=Decimal("0.5"))
    response = alice_client.post(FEES, {"reset": "1"})
    assert response.status_code == 302
    assert not FeeSettings.objects.exists()
    assert rates_for(credential) == rules.cost_rates()


def test_the_ticket_estimates_with_the_credentials_rates(sim, credential, alice_client):
    FeeSettings.objects.create(credential=credential, commission_pct=Decimal("0.5"))
    sim.market.set_price("005930", 71000)
    page = alice_client.get(reverse("trading:order_ticket"), {"symbol": "005930"})
    assert 'data-rate-commission="0.005"' in page.content.decode()
    assert f'href="{FEES}"' in page.content.decode()


def test_the_real_money_confirmation_shows_commission_and_tax_at_the_credentials_rates(
    sim, alice, make_credential, alice_client
):
    from accounts.actions import select_credential, verify_credential

    real = make_credential(alice, environment="real", label="Alice real")
    assert verify_credential(alice, real).ok
    select_credential(alice, real)
    FeeSettings.objects.create(
        credential=real, commission_pct=Decimal("0.1"), kospi_sell_tax_pct=Decimal("0.18")
    )
    sim.market.set_price("005930", 71000)
    review = alice_client.post(
        reverse("trading:order_ticket"), ticket_form(price="70000", quantity="3")
    )
    assert review.status_code == 200
    page = review.content.decode()
    assert "210,000" in page  # the amount
    assert ">210<" in page.replace(" won", "").replace("원", "")  # 0.1 % commission
    assert "210,210" in page  # total cost
    assert Order.objects.count() == 0


def test_bob_sees_and_changes_only_his_own_rates(credential, bob_verified, alice_client, client):
    FeeSettings.objects.create(credential=credential, commission_pct=Decimal("0.4321"))
    alice_client.logout()
    client.force_login(bob_verified.owner)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = client.get(FEES).content.decode()
    assert "0.4321" not in page and credential.label not in page
    assert client.post(FEES, fee_form(commission_pct="0.9")).status_code == 302
    assert FeeSettings.objects.get(credential=credential).commission_pct == Decimal("0.4321")
    assert FeeSettings.objects.get(credential=bob_verified).commission_pct == Decimal("0.9")


def test_the_fees_page_speaks_korean(credential, alice_client):
    page = alice_client.get(FEES, HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "수수료와 세금" in page and "코스닥 매도 세금 (%)" in page
    assert "코스피 매도 0.20 %(증권거래세 0.05 %" in page  # the tax note, percent signs intact
