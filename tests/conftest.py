"""Fixtures every test shares, and the network guard nobody switches off."""

from __future__ import annotations

import ipaddress
import socket

import pytest

# Every test's output is searched for the secrets the simulator hands out.
pytest_plugins = ["tests.secret_scan"]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def _guarded(real):
    def guarded(sock, address, *args):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(str(address[0])):
            raise AssertionError(f"test tried to reach {address[0]}: tests stay on loopback")
        return real(sock, address, *args)

    return guarded


@pytest.fixture(autouse=True)
def no_internet(monkeypatch):
    """Any connection to a non-loopback address fails the test loudly."""
    monkeypatch.setattr(socket.socket, "connect", _guarded(socket.socket.connect))
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded(socket.socket.connect_ex))


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Real hashing costs ~0.3 s per login on these machines; tests don't need its strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# ---------------------------------------------------------------- people and credentials

ALICE_PASSWORD = "alice-correct-horse"
BOB_PASSWORD = "bob-battery-staple"


@pytest.fixture(scope="session")
def simulator():
    """One KIS simulator for the whole run, on loopback ports chosen by the OS."""
    from kisweb.kissim.testing import SimulatorThread

    with SimulatorThread() as thread:
        yield thread


@pytest.fixture
def kis_endpoints(settings, simulator):
    """Point kisweb at the session's simulator; returns the `Simulator`."""
    sim = simulator.sim
    settings.KISWEB_KIS_ENDPOINTS = {
        "real": {"rest": sim.real_url, "ws": sim.real_ws_url},
        "paper": {"rest": sim.paper_url, "ws": sim.paper_ws_url},
    }
    return sim


@pytest.fixture
def make_credential(db, kis_endpoints):
    """`make_credential(owner, **overrides)`: a credential for a fresh simulator customer,
    created through `accounts.actions` as a person would. Overrides: any `CredentialInput`
    field (`environment="real"` makes a real-money customer)."""
    from accounts.actions import CredentialInput, create_credential
    from kisweb.kissim import make_account

    def make(owner, **overrides):
        environment = overrides.pop("environment", "paper")
        account = kis_endpoints.add_account(make_account(environment))
        fields = {
            "label": f"{environment} {account.cano}",
            "environment": environment,
            "app_key": account.appkey,
            "app_secret": account.appsecret,
            "account_number": account.cano,
            "product_code": account.acnt_prdt_cd,
            "hts_id": account.hts_id,
            **overrides,
        }
        return create_credential(owner, CredentialInput(**fields))

    return make


@pytest.fixture
def alice(django_user_model, make_credential):
    """A user with one paper credential (selected) on the simulator."""
    user = django_user_model.objects.create_user(
        "alice", email="alice@example.org", password=ALICE_PASSWORD
    )
    make_credential(user, label="Alice paper")
    return user


@pytest.fixture
def bob(django_user_model, make_credential):
    user = django_user_model.objects.create_user(
        "bob", email="bob@example.org", password=BOB_PASSWORD
    )
    make_credential(user, label="Bob paper")
    return user


@pytest.fixture
def alice_credential(alice):
    return alice.kis_credentials.get()


@pytest.fixture
def bob_credential(bob):
    return bob.kis_credentials.get()


@pytest.fixture(autouse=True)
def fresh_cache():
    """Django's cache is the process's memory in tests: no test sees what another cached
    (the quote page's snapshot, the holiday table's refresh mark)."""
    from django.core.cache import cache

    cache.clear()
