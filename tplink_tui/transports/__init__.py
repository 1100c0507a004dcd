"""Transports for the newer plugs: KLAP and AES ("securePassthrough") over HTTP.

Each one has the shape of the old XOR ``Connection``: ``await request(payload,
retry_safe=...)`` takes plaintext JSON bytes and returns plaintext JSON bytes, one
request in flight per device, ``close()``/``abort()``, ``host``/``port``/``timeout``.
"""

from __future__ import annotations

from .errors import AuthenticationError, Credentials

__all__ = ["AuthenticationError", "Credentials"]
