"""``/docs``: the interactive API reference (Swagger UI), served entirely from this package.

FastAPI's default page loads Swagger UI from a CDN, which is a blank page behind a firewall or
offline. Here the page is FastAPI's own (``get_swagger_ui_html``) pointed at the vendored
``swagger-ui-dist`` files in ``static/`` (Apache-2.0: ``static/LICENSE``, ``static/NOTICE``);
``static/README.md`` says how to update them. The asset URLs carry the version, so browsers may
cache them for long: a new version is a new URL. The page's Content-Security-Policy allows this
server alone, so it never reaches out (not even to Swagger's online validator, turned off).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter, Response
from fastapi.openapi.docs import get_swagger_ui_html

from service.errors import NotFound

SWAGGER_UI_VERSION = "5.35.0"  # of the files in static/ (swagger-ui-dist on npm)
STATIC = Path(__file__).parent / "static"
ASSETS_PATH = f"/docs/assets/{SWAGGER_UI_VERSION}"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
ASSET_HEADERS = {"Cache-Control": "public, max-age=604800, immutable",
                 "X-Content-Type-Options": "nosniff"}
# The page's one inline script starts Swagger UI; Swagger UI sets inline styles as it renders.
CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)

router = APIRouter(include_in_schema=False)


@cache
def _read(name: str) -> bytes:
    return (STATIC / name).read_bytes()


@router.get("/docs")
def docs() -> Response:
    page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Descent — API reference",
        swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None},
    )
    page.headers["Content-Security-Policy"] = CSP
    page.headers["Cache-Control"] = "no-cache"
    return page


@router.get(ASSETS_PATH + "/{name}")
def asset(name: str) -> Response:
    if name not in ASSETS:
        raise NotFound(f"The API reference has no file {name!r}.")
    return Response(_read(name), media_type=ASSETS[name], headers=ASSET_HEADERS)
