import socket

import pytest


def test_guard_refuses_non_loopback_udp() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, pytest.raises(AssertionError):
        sock.sendto(b"x", ("255.255.255.255", 9999))


def test_guard_refuses_non_loopback_tcp() -> None:
    with socket.socket() as sock, pytest.raises(AssertionError):
        sock.connect(("192.168.1.1", 9999))


def test_guard_allows_loopback_broadcast() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.sendto(b"x", ("127.255.255.255", 9))
