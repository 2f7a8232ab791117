import pytest
from django.test import RequestFactory

from kisweb.clientip import client_ip


def _request(remote="10.0.0.5", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_trusted_proxies_the_peer_is_the_client(settings):
    settings.KISWEB_TRUSTED_PROXIES = 0
    assert client_ip(_request(forwarded="203.0.113.9")) == "10.0.0.5"


@pytest.mark.parametrize(
    ("hops", "forwarded", "expected"),
    [
        (1, "203.0.113.9", "203.0.113.9"),
        # A client that writes its own header gets only its spoof skipped over.
        (1, "1.2.3.4, 203.0.113.9", "203.0.113.9"),
        (2, "1.2.3.4, 203.0.113.9, 10.1.1.1", "203.0.113.9"),
        # Fewer entries than proxies: the header is not from our proxies; use the peer.
        (2, "203.0.113.9", "10.0.0.5"),
        # Garbage where the address should be: the peer.
        (1, "not-an-ip", "10.0.0.5"),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_behind_proxies_the_nth_address_from_the_right_is_the_client(
    settings, hops, forwarded, expected
):
    settings.KISWEB_TRUSTED_PROXIES = hops
    assert client_ip(_request(forwarded=forwarded)) == expected


def test_a_missing_header_falls_back_to_the_peer(settings):
    settings.KISWEB_TRUSTED_PROXIES = 1
    assert client_ip(_request()) == "10.0.0.5"


@pytest.mark.django_db
def test_the_audit_trail_records_the_forwarded_address(settings, client, alice):
    from accounts.models import AuditEvent
    from tests.conftest import ALICE_PASSWORD

    settings.KISWEB_TRUSTED_PROXIES = 1
    client.post(
        "/accounts/login/",
        {"username": alice.username, "password": ALICE_PASSWORD},
        REMOTE_ADDR="10.0.0.5",
        HTTP_X_FORWARDED_FOR="198.51.100.23",
    )
    event = AuditEvent.objects.filter(actor=alice).latest("pk")
    assert event.action == "auth.signed_in"
    assert event.ip_address == "198.51.100.23"
