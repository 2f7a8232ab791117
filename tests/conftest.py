"""Fixtures every test shares, and the network guard nobody switches off."""

from __future__ import annotations

import ipaddress
import socket

import pytest


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
