"""One aiohttp session per device, with the session cookie handled by hand.

aiohttp's default cookie jar drops cookies set by an IP address, and every plug is
an IP address; rather than trust ``CookieJar(unsafe=True)`` we keep no jar at all
(``DummyCookieJar``) and send the one cookie that matters, ``TP_SESSIONID``,
ourselves. Every failure becomes one of the project's error types naming the host.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from ..address import format_address
from ..errors import DeviceTimeout, DeviceUnreachable, ProtocolError

DEFAULT_HTTP_PORT = 80
DEFAULT_TIMEOUT = 5.0
MAX_BODY = 1 << 20  # 1 MiB: no plug answers anything near this
SESSION_COOKIE = "TP_SESSIONID"
TIMEOUT_COOKIE = "TIMEOUT"
SECRET_KEYS = frozenset({"username", "password", "password2", "token", "key"})


@dataclass(slots=True)
class HttpReply:
    """Status, body and the cookies a reply set (name -> value)."""

    status: int
    body: bytes
    cookies: dict[str, str] = field(default_factory=dict)


class HttpSession:
    """POSTs to one device; opened lazily, reopened after a failure."""

    def __init__(
        self, host: str, port: int = DEFAULT_HTTP_PORT, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.cookie: str | None = None  # the TP_SESSIONID value we send back
        self._session: aiohttp.ClientSession | None = None

    @property
    def address(self) -> str:
        return format_address(self.host, self.port)

    def _url(self, path: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                cookie_jar=aiohttp.DummyCookieJar(),
                connector=aiohttp.TCPConnector(limit=1, force_close=False),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
        return self._session

    async def post(
        self,
        path: str,
        body: bytes,
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpReply:
        """POST ``body``; connection failures and timeouts become project errors."""
        session = self._open()
        sent = dict(headers or {})
        if self.cookie is not None:
            sent["Cookie"] = f"{SESSION_COOKIE}={self.cookie}"
        try:
            async with session.post(
                self._url(path), data=body, params=params, headers=sent
            ) as resp:
                if resp.content_length is not None and resp.content_length > MAX_BODY:
                    raise ProtocolError(
                        f"{self.address}: reply announces {resp.content_length} bytes"
                    )
                data = bytearray()
                async for chunk in resp.content.iter_chunked(1 << 16):
                    data += chunk
                    if len(data) > MAX_BODY:
                        raise ProtocolError(f"{self.address}: reply over {MAX_BODY} bytes")
                cookies = parse_set_cookie(resp.headers.getall("Set-Cookie", []))
                return HttpReply(resp.status, bytes(data), cookies)
        except TimeoutError:
            await self.close()
            raise DeviceTimeout(f"{self.address}: no reply within {self.timeout:g} s") from None
        except aiohttp.ClientConnectorError as exc:
            await self.close()
            reason = (exc.os_error.strerror or str(exc)).lower() if exc.os_error else str(exc)
            raise DeviceUnreachable(f"{self.address}: cannot connect ({reason})") from None
        except (aiohttp.ClientError, OSError) as exc:
            await self.close()
            reason = str(exc) or type(exc).__name__
            raise DeviceUnreachable(f"{self.address}: connection dropped ({reason})") from None

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    def abort(self) -> None:
        """Drop the sockets now without awaiting anything (used on quit)."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            connector = session.connector
            if connector is not None:
                # The base class's close shuts the sockets at once and returns an
                # optional waiter (TCPConnector's own close is a coroutine that would
                # only run if awaited).
                waiter = aiohttp.BaseConnector.close(connector, abort_ssl=True)
                with contextlib.suppress(RuntimeError):  # no loop: nothing left to wait on
                    task = asyncio.get_running_loop().create_task(_settle(waiter))
                    _SETTLING.add(task)
                    task.add_done_callback(_SETTLING.discard)


_SETTLING: set[asyncio.Task[None]] = set()


async def _settle(waiter: Awaitable[None]) -> None:
    """Await an abort's waiter, so aiohttp does not warn that nobody did."""
    with contextlib.suppress(Exception):
        await waiter


def parse_set_cookie(headers: list[str]) -> dict[str, str]:
    """Every ``name=value`` pair of the Set-Cookie headers, attributes included.

    Firmware sends ``TP_SESSIONID=...;TIMEOUT=86400`` in one header, and aiohttp's
    parser files ``TIMEOUT`` away as an attribute of the first cookie, so we read
    the pairs ourselves.
    """
    cookies: dict[str, str] = {}
    for header in headers:
        for part in header.split(";"):
            name, sep, value = part.strip().partition("=")
            if sep and name:
                cookies.setdefault(name, value.strip().strip('"'))
    return cookies


def redact(payload: bytes) -> bytes:
    """The payload with every credential-like value replaced, for logs and the pane."""
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        return payload
    return json.dumps(_redact(data), separators=(",", ":")).encode()


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "<redacted>" if k in SECRET_KEYS else _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


def trace(direction: str, host: str, port: int, payload: bytes) -> None:
    """Hand decrypted traffic to the old transport's listeners, credentials redacted."""
    from .. import transport

    transport._trace(direction, host, port, redact(payload))
