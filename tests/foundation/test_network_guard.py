import socket

import pytest


def test_a_non_loopback_connection_fails_the_test():
    # UDP connect only sets the peer address: even if the guard were broken, no packet leaves.
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock,
        pytest.raises(AssertionError, match=r"192\.0\.2\.1"),
    ):
        sock.connect(("192.0.2.1", 9))


def test_connect_ex_is_guarded_too():
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock,
        pytest.raises(AssertionError, match=r"198\.51\.100\.7"),
    ):
        sock.connect_ex(("198.51.100.7", 9))


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "localhost"])
def test_loopback_is_allowed(host):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect((host, 9))
        assert sock.getpeername()[0].startswith("127.")


def test_ipv6_loopback_is_allowed():
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
        sock.connect(("::1", 9))
        assert sock.getpeername()[0] == "::1"
