"""Which strip outlet a spec names: a 0-based index, a full id, a short id or a name.

An id shared by two outlets is never used: the device would pick one, and we
could not tell which, so switching through it is refused (``AmbiguousOutlet``).
"""

from __future__ import annotations

from ..errors import OutletNotFound
from .models import OutletInfo, SysInfo

OutletSpec = int | str | None


class AmbiguousOutlet(OutletNotFound):
    """An outlet spec names an outlet whose id (or name) several outlets report."""


def _one(found: list[OutletInfo], what: str) -> OutletInfo | None:
    if len(found) > 1:
        indexes = ", ".join(str(o.index) for o in found)
        raise AmbiguousOutlet(f"{what} matches outlets {indexes}; refusing to guess")
    return found[0] if found else None


def find_outlet(outlets: tuple[OutletInfo, ...], spec: OutletSpec) -> OutletInfo | None:
    """The one outlet ``spec`` names; AmbiguousOutlet when it names several."""
    if isinstance(spec, str):
        text = spec.strip()
        found = _one([o for o in outlets if o.id == text], f"id {text!r}")
        if found is None and len(text) == 2:
            found = _one([o for o in outlets if o.short_id == text], f"short id {text!r}")
        if found is not None:
            return found
        if text.isdigit():
            spec = int(text)
        else:
            folded = text.casefold()
            named = [o for o in outlets if o.alias.casefold() == folded]
            return _one(named, f"name {text!r} (use an index)")
    if isinstance(spec, int) and 0 <= spec < len(outlets):
        return outlets[spec]
    return None


def unique(sysinfo: SysInfo, outlet: OutletInfo) -> OutletInfo:
    """``outlet``, unless another outlet reports the same id (the device would choose)."""
    if outlet.id in sysinfo.duplicate_ids:
        others = [o.index for o in sysinfo.children if o.id == outlet.id]
        raise AmbiguousOutlet(
            f"outlets {', '.join(map(str, others))} all report id {outlet.id!r}:"
            " refusing to address one of them (the device would pick which)"
        )
    return outlet
