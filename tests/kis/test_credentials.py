import pytest

from kisweb.kis import Environment, KisCredentials

VALID = {
    "app_key": "P" * 36,
    "app_secret": "s" * 180,
    "account_no": "50000001",
    "product_code": "01",
    "hts_id": "demo",
    "env": Environment.PAPER,
}


def test_valid_credentials_keep_their_values_and_hide_the_secret():
    creds = KisCredentials(**VALID)
    assert (creds.account_no, creds.product_code, creds.env) == (
        "50000001",
        "01",
        Environment.PAPER,
    )
    assert "s" * 180 not in repr(creds)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("account_no", "5000000", "8-digit CANO"),
        ("account_no", "5000000x", "8-digit CANO"),
        ("account_no", "５０００００01", "8-digit CANO"),  # full-width digits
        ("account_no", "٥٠٠٠٠٠٠١", "8-digit CANO"),  # Arabic-Indic digits
        ("product_code", "1", "2-digit ACNT_PRDT_CD"),
        ("product_code", "０1", "2-digit ACNT_PRDT_CD"),
    ],
)
def test_account_numbers_must_be_ascii_digits_of_the_right_length(field, value, message):
    with pytest.raises(ValueError, match=message):
        KisCredentials(**{**VALID, field: value})
