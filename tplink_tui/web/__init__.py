"""The dashboard in a browser: textual-serve wrapped so a foreign web page cannot drive it.

``guard`` decides who may talk to the server (Host, Origin, token); ``server`` is the
textual-serve ``Server`` with that guard, a session cap and a clean bind error.
"""

DEFAULT_MAX_SESSIONS = 4
