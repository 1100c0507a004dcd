"""Transport and credentials on the command line: ``--transport``, ``--username``, ``--password``.

The password is a secret from the moment it is parsed: it is only ever put into a
``Credentials`` (whose ``repr`` hides it) and handed to the client; nothing here
prints or logs it. Where credentials come from, first found wins, field by field:
the flags, then ``KASA_USERNAME`` / ``KASA_PASSWORD`` (the names python-kasa's CLI
reads), then the pair saved for the device's address (``devices add --username``).
"""

from __future__ import annotations

import argparse
import os

from ..address import TRANSPORT_NAMES, format_address
from ..lazy import TYPE_CHECKING
from ..store.config_path import credentials_path, may_exist

if TYPE_CHECKING:
    from ..transports.errors import Credentials

__all__ = [
    "ENV_PASSWORD",
    "ENV_USERNAME",
    "HTTP_PORT",
    "XOR_PORT",
    "add_auth_options",
    "credentials_for",
    "default_port",
    "given_credentials",
    "transport_of",
]

ENV_USERNAME = "KASA_USERNAME"
ENV_PASSWORD = "KASA_PASSWORD"
XOR_PORT = 9999
HTTP_PORT = 80


def add_auth_options(parser: argparse.ArgumentParser) -> None:
    """``--transport``, ``--username``, ``--password`` (skipping any the verb defines itself)."""
    have = {s for action in parser._actions for s in action.option_strings}
    if "--transport" not in have:
        parser.add_argument(
            "--transport",
            choices=TRANSPORT_NAMES,
            default=argparse.SUPPRESS,
            help="how to talk to the device (default: what was saved for it, else auto:"
            " XOR on 9999, then KLAP and AES on HTTP port 80)",
        )
    if "--username" not in have:
        parser.add_argument(
            "--username",
            metavar="U",
            default=argparse.SUPPRESS,
            help=f"account e-mail for KLAP/AES devices (or ${ENV_USERNAME})",
        )
    if "--password" not in have:
        parser.add_argument(
            "--password",
            metavar="P",
            default=argparse.SUPPRESS,
            help=f"account password (or ${ENV_PASSWORD}; never printed or logged)",
        )


def transport_of(args: argparse.Namespace, saved: str = "auto") -> str:
    """The flag, else what was saved for the device, else auto."""
    return getattr(args, "transport", None) or saved or "auto"


def default_port(transport: str) -> int:
    """The port a transport uses when none is given (auto starts with XOR's)."""
    return HTTP_PORT if transport in ("klap", "aes") else XOR_PORT


def given_credentials(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """(username, password) from the flags, else the environment; None when absent."""
    username = getattr(args, "username", None)
    password = getattr(args, "password", None)
    if username is None:
        username = os.environ.get(ENV_USERNAME) or None
    if password is None:
        password = os.environ.get(ENV_PASSWORD) or None
    return username, password


def credentials_for(
    args: argparse.Namespace, host: str, port: int, transport: str, *, port_given: bool = True
) -> Credentials | None:
    """The credentials to use for a device, or None (an XOR device needs none).

    The saved file is read only when flags and environment leave a field open, and
    never for ``--transport xor``, so a broken credentials file does not stop the old
    plugs; with no file at all the store is not even imported.
    """
    username, password = given_credentials(args)
    wanted = (username is None or password is None) and transport != "xor"
    if wanted and may_exist(credentials_path()):
        addresses = [format_address(host, port)]
        if not port_given or port == XOR_PORT:
            addresses.append(format_address(host, HTTP_PORT))
        from ..store.credentials import CredentialStore  # only when a login may be saved

        store = CredentialStore()
        for address in addresses:
            saved = store.get(address)
            if saved is not None and username in (None, saved.username):
                username = saved.username if username is None else username
                password = saved.password if password is None else password
                break
    if username is None and password is None:
        return None
    from ..transports.errors import Credentials

    return Credentials(username or "", password or "")
