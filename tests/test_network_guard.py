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


async def test_guard_refuses_non_loopback_http() -> None:
    """The newer transports' HTTP (aiohttp, through the event loop's sock_connect) is
    stopped by the same guard, before any packet leaves: the guard raises first."""
    from tplink_tui.transports.http import HttpSession

    session = HttpSession("192.0.2.1", 80, timeout=1.0)  # TEST-NET-1, never reached
    try:
        with pytest.raises(BaseException) as caught:
            await session.post("/app", b"{}")
        assert "network guard" in repr(caught.value) or "network guard" in str(
            caught.value.__cause__ or caught.value.__context__
        )
    finally:
        await session.close()
