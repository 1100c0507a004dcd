"""Which transport and which JSON dialect a device speaks, found once per client.

``DeviceLink`` is the part of ``DeviceClient`` that owns the connection. With
``transport="auto"`` it starts on XOR (port given, or 9999) and only when that port
refuses, closes without a word or answers in HTTP does it try KLAP, then AES (port
given, or 80). The first request is never sent twice by this: a refused or HTTP
port cannot have carried out an XOR command. Over KLAP/AES the dialect is asked
once (``component_nego``): a smart reply carries ``error_code``, the old JSON does
not (an HS100 v4.1 speaks the old JSON over KLAP).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import (
    TYPE_CHECKING,
    Any,
    Concatenate,
    Literal,
    ParamSpec,
    Protocol,
    Self,
    TypeVar,
    cast,
)

from ..address import DEFAULT_PORT, format_address
from ..errors import (
    AuthenticationError,
    DeviceUnreachable,
    NotSupported,
    ProtocolError,
    SpeaksHttp,
    TplinkError,
    UsageError,
)
from ..transport import DEFAULT_TIMEOUT, Connection
from ..transports.errors import Credentials

if TYPE_CHECKING:
    from ..transports.aes import AesTransport
    from ..transports.klap import KlapTransport
    from .client import DeviceClient
    from .smart_client import SmartSide

DEFAULT_HTTP_PORT = 80
"""KLAP and AES listen on HTTP's port (``transports.http``, imported only when used:
it pulls in aiohttp, a fifth of a second a verb on an old plug need not wait)."""

TransportName = Literal["auto", "xor", "klap", "aes"]
TRANSPORTS: tuple[str, ...] = ("auto", "xor", "klap", "aes")
NO_CREDENTIALS = "no credentials given"


class Link(Protocol):
    """What the client needs of a transport: XOR ``Connection``, KLAP or AES."""

    async def request(self, payload: bytes, *, retry_safe: bool = False) -> bytes: ...

    async def close(self) -> None: ...

    def abort(self) -> None: ...


class UseSmart(Exception):
    """Internal: auto detection found a smart device in the middle of an old-JSON call."""


P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S", bound="DeviceLink")
_inside = contextvars.ContextVar("inside_a_client_call", default=False)


def both_dialects(
    func: Callable[Concatenate[S, P], Awaitable[R]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
    """Run the old-JSON method, or the smart side's method of the same name.

    Only the outermost call restarts on the smart side when auto detection finds a
    smart device halfway (``UseSmart``); a call nested in it lets it rise."""
    name = func.__name__

    @functools.wraps(func)
    async def run(self: S, *args: P.args, **kwargs: P.kwargs) -> R:
        if self.dialect == "iot":  # known old JSON (every poll of an old plug): it stays so
            return await func(self, *args, **kwargs)
        side = await self.smart_side()
        if side is None:
            outermost = not _inside.get()
            token = _inside.set(True)
            try:
                return await func(self, *args, **kwargs)
            except UseSmart:
                if not outermost:
                    raise
                side = await self.smart_side()
            finally:
                _inside.reset(token)
            assert side is not None
        method = getattr(side, name, None)
        if method is None:
            words = name.replace("_", " ")
            raise NotSupported(f"{self.address}: {words} is not available over the smart protocol")
        return cast(R, await method(*args, **kwargs))

    return run


class DeviceLink:
    """The connection half of ``DeviceClient``: transport choice, credentials, dialect."""

    def __init__(
        self,
        host: str,
        port: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        connect_timeout: float | None = None,
        transport: str = "auto",
        credentials: Credentials | None = None,
    ) -> None:
        if transport not in TRANSPORTS:
            raise UsageError(f"unknown transport {transport!r} (one of {', '.join(TRANSPORTS)})")
        self.host = host
        self.timeout = timeout
        self.requested_transport = transport
        self.credentials = credentials
        self._given_port = port
        self.transport_name = "" if transport == "auto" else transport
        """"xor", "klap" or "aes" once known ("" while an auto client has not asked yet)."""
        self.dialect = "iot" if transport == "xor" else ""
        """"iot" (the old JSON) or "smart" once known ("" until then)."""
        self.components: dict[str, int] = {}
        self._smart: SmartSide | None = None
        self._settling = asyncio.Lock()  # one detection at a time, even when polled and used
        self.connection: Any
        if transport in ("klap", "aes"):
            self.port = DEFAULT_HTTP_PORT if port is None else port
            self.connection = self._http_transport(transport)
        else:
            self.port = DEFAULT_PORT if port is None else port
            self.connection = Connection(host, self.port, timeout, connect_timeout)

    @property
    def address(self) -> str:
        """``host:port`` (IPv6 bracketed), as error messages name the device."""
        return format_address(self.host, self.port)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.connection.close()

    def set_credentials(self, credentials: Credentials | None) -> None:
        """New credentials (after an AuthenticationError): the next request logs in afresh."""
        self.credentials = credentials
        if isinstance(self.connection, Connection):
            return  # XOR has no login (and then aiohttp need not be imported for this)
        from ..transports.aes import AesTransport
        from ..transports.klap import KlapTransport

        if isinstance(self.connection, (KlapTransport, AesTransport)):
            self.connection.credentials = credentials or Credentials()
            self.connection.reset()

    def _http_transport(self, name: str) -> KlapTransport | AesTransport:
        from ..transports.aes import AesTransport
        from ..transports.klap import KlapTransport

        creds = self.credentials or Credentials()
        kind: type[KlapTransport | AesTransport] = KlapTransport if name == "klap" else AesTransport
        return kind(self.host, self.port, self.timeout, credentials=creds)

    async def smart_side(self) -> SmartSide | None:
        """The smart-dialect methods when the device speaks it (asked once if unknown)."""
        if self.transport_name and not self.dialect:
            async with self._settling:
                if not self.dialect:
                    await self.detect()
        if self.dialect != "smart":
            return None
        if self._smart is None:
            from .smart_client import SmartSide  # an old plug never needs the dialect

            self._smart = SmartSide(cast("DeviceClient", self))
        return self._smart

    # -- auto: the first request decides -----------------------------------------

    async def _request(self, payload: bytes, retry_safe: bool) -> bytes:
        """Send one old-JSON payload; an auto client still on XOR may move to HTTP."""
        if self.transport_name == "xor":  # the poll path: straight to the socket
            reply: bytes = await self.connection.request(payload, retry_safe=retry_safe)
            return reply
        if self.transport_name:
            if self.dialect == "":
                async with self._settling:
                    if not self.dialect:
                        await self.detect()
            if self.dialect == "smart":
                raise UseSmart
            return await self.exchange(payload, retry_safe)
        try:
            data: bytes = await self.connection.request(payload, retry_safe=retry_safe)
        except (DeviceUnreachable, SpeaksHttp) as exc:
            async with self._settling:
                if not self.transport_name:  # another task may have found it meanwhile
                    await self._fall_back(exc)
            if self.dialect == "smart":
                raise UseSmart from None
            return await self.exchange(payload, retry_safe)
        self.transport_name, self.dialect = "xor", "iot"
        return data

    async def exchange(self, payload: bytes, retry_safe: bool) -> bytes:
        """A request over KLAP/AES; a refusal names what was (not) given."""
        try:
            data: bytes = await self.connection.request(payload, retry_safe=retry_safe)
        except AuthenticationError:
            raise self._auth_error() from None
        return data

    def _auth_error(self) -> AuthenticationError:
        detail = NO_CREDENTIALS if self.credentials is None else "credentials refused"
        return AuthenticationError(self.address, detail)

    async def _fall_back(self, xor_error: TplinkError) -> None:
        """XOR failed at once: try KLAP, then AES; keep the first that answers.

        Anything else (a timeout, a cancel) puts the XOR connection back, so the
        next request starts the choice over rather than trusting half of it."""
        xor_connection = self.connection
        self.port = DEFAULT_HTTP_PORT if self._given_port is None else self._given_port
        try:
            for name in ("klap", "aes"):
                self.connection = self._http_transport(name)
                try:
                    await self._detect_over(name)
                except AuthenticationError:
                    self.transport_name = name  # it is this transport; credentials are wrong
                    raise self._auth_error() from None
                except (DeviceUnreachable, ProtocolError):
                    await self.connection.close()
                    continue
                self.transport_name = name
                return
            raise xor_error
        finally:
            if not self.transport_name:
                if self.connection is not xor_connection:
                    self.connection.abort()
                self.connection = xor_connection
                self.port = xor_connection.port

    async def detect(self) -> None:
        """Ask the dialect over the known transport (component_nego)."""
        try:
            await self._detect_over(self.transport_name)
        except AuthenticationError:
            raise self._auth_error() from None

    async def _detect_over(self, name: str) -> None:
        """One read-only probe: old JSON answers without ``error_code``."""
        from . import smart

        reply = smart.decode(
            await self.connection.request(smart.encode(smart.component_nego()), retry_safe=True)
        )
        if "error_code" not in reply:
            self.dialect = "iot"
            return
        try:
            self.components = smart.parse_components(smart.check(reply, "component_nego"))
        except (AuthenticationError, smart.SessionExpired):
            raise
        except TplinkError:
            self.components = {}  # a smart device without component_nego: assume little
        self.dialect = "smart"
