"""The package's public edges: what ``import tplink_tui`` offers, and what it must not pull in."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import tplink_tui
from tplink_tui import address, errors, transport

PACKAGE = Path(tplink_tui.__file__).parent

# The error classes the README lists under "Errors are all tplink_tui.TplinkError".
DOCUMENTED_ERRORS = (
    "TplinkError",
    "DeviceUnreachable",
    "DeviceTimeout",
    "ProtocolError",
    "FrameTooLarge",
    "DeviceError",
    "OutletNotFound",
    "NotSupported",
    "ConfigError",
    "UsageError",
)


@pytest.mark.parametrize("name", DOCUMENTED_ERRORS)
def test_every_documented_error_is_importable_from_the_package(name: str) -> None:
    cls = getattr(tplink_tui, name)
    assert cls is getattr(errors, name)
    assert issubclass(cls, tplink_tui.TplinkError)
    assert name in tplink_tui.__all__


def test_the_readme_lists_no_error_the_package_lacks() -> None:
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    paragraph = readme[readme.index("Errors are all") :].split("\n\n")[0]
    listed = set(re.findall(r"`(?:tplink_tui\.)?([A-Z]\w+)", paragraph))
    assert listed >= {"TplinkError", "DeviceError", "ConfigError"}
    missing = sorted(name for name in listed if not hasattr(tplink_tui, name))
    assert missing == []


def test_one_default_port() -> None:
    assert transport.DEFAULT_PORT is address.DEFAULT_PORT
    defined = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "DEFAULT_PORT" for t in node.targets
            ):
                defined.append(path.relative_to(PACKAGE).as_posix())
    assert defined == ["address.py"]


def test_connection_address_brackets_ipv6() -> None:
    assert transport.Connection("::1", 9999).address == "[::1]:9999"
    assert transport.Connection("127.0.0.1", 10000).address == "127.0.0.1:10000"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def test_only_the_testing_module_imports_pytest() -> None:
    importers = sorted(
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if _imports(path) & {"pytest", "pytest_asyncio", "hypothesis"}
    )
    assert importers == ["testing.py"]


def test_testing_without_pytest_says_what_is_missing() -> None:
    code = (
        "import sys\n"
        "sys.modules['pytest'] = None\n"
        "try:\n"
        "    import tplink_tui.testing\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
        "else:\n"
        "    print('imported')\n"
        "import tplink_tui.simulator\n"  # the simulator itself needs no pytest
        "print('simulator ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "needs the test extra" in out and "tplink-tui[test]" in out
    assert "simulator ok" in out
