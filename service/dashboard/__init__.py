"""The web dashboard: one static page at ``/`` (HTML, vanilla JS, CSS; no build step, no CDN).

The page talks to the same ``/v1`` API as every other client, with the API key the user enters
once (kept in the browser's ``localStorage``; ``/#key=…`` stores it too). Charts are SVG drawn by
``app.js``. Only the files named in ``ASSETS`` are served, so no path reaches the file system.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter, Response

from service.errors import NotFound

STATIC = Path(__file__).parent / "static"
ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "report.js": "text/javascript; charset=utf-8",
    "layers.js": "text/javascript; charset=utf-8",
    "npz.js": "text/javascript; charset=utf-8",
    "upload.js": "text/javascript; charset=utf-8",
    "design.js": "text/javascript; charset=utf-8",
    "compare.js": "text/javascript; charset=utf-8",
    "sweeps.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
# The page changes with each release, never while it runs: browsers may revalidate cheaply.
CACHE = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
# Everything is served from here; inline styles only for the SVG chart's computed attributes.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)

router = APIRouter(include_in_schema=False)


@cache
def _read(name: str) -> bytes:
    return (STATIC / name).read_bytes()


@router.get("/")
def index() -> Response:
    headers = {**CACHE, "Content-Security-Policy": CSP, "Referrer-Policy": "no-referrer"}
    return Response(_read("index.html"), media_type="text/html; charset=utf-8", headers=headers)


@router.get("/dashboard/{name}")
def asset(name: str) -> Response:
    if name not in ASSETS:
        raise NotFound(f"The dashboard has no file {name!r}.")
    return Response(_read(name), media_type=ASSETS[name], headers=CACHE)
