"""``GET /``: the phone page, one HTML file beside this module (no build step, no CDN).

It polls ``/api/devices`` and switches through the REST API. The Content Security
Policy allows exactly its own inline script and style (by hash), requests to this
server only, and no framing: device text is shown through ``textContent`` anyway.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from importlib import resources

from aiohttp import web

PAGE = "page.html"


def _hash(body: str) -> str:
    digest = hashlib.sha256(body.encode()).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


@functools.cache
def page() -> tuple[bytes, str]:
    """The page's bytes and its Content-Security-Policy."""
    text = resources.files(__package__).joinpath(PAGE).read_text("utf-8")
    scripts = " ".join(_hash(s) for s in re.findall(r"<script>(.*?)</script>", text, re.S))
    styles = " ".join(_hash(s) for s in re.findall(r"<style>(.*?)</style>", text, re.S))
    policy = (
        f"default-src 'none'; script-src {scripts}; style-src {styles}; connect-src 'self';"
        " img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return text.encode("utf-8"), policy


async def serve_page(request: web.Request) -> web.Response:
    body, policy = page()
    response = web.Response(body=body, content_type="text/html", charset="utf-8")
    response.headers["Content-Security-Policy"] = policy
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", serve_page)
