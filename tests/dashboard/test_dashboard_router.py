"""The dashboard's router: the page and its assets, and nothing else from the file system."""

from __future__ import annotations

import warnings

from fastapi import FastAPI

from service import dashboard, problems

with warnings.catch_warnings():
    # Starlette suggests httpx2 for its TestClient; httpx is what we ship.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def make_client() -> TestClient:
    app = FastAPI()
    problems.install(app)
    app.include_router(dashboard.router)
    return TestClient(app)


def test_index_is_the_page_with_local_assets_only() -> None:
    response = make_client().get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    page = response.text
    assert '/dashboard/app.js' in page and '/dashboard/style.css' in page
    assert "http://" not in page and "https://" not in page  # no CDN


def test_assets_are_served_with_their_types() -> None:
    client = make_client()
    for name, media in (("app.js", "text/javascript"), ("style.css", "text/css"),
                        ("favicon.svg", "image/svg+xml")):
        response = client.get(f"/dashboard/{name}")
        assert response.status_code == 200 and response.headers["content-type"].startswith(media)
    script = client.get("/dashboard/app.js").text
    assert "https://" not in script and "localStorage" in script


def test_unknown_files_are_404() -> None:
    client = make_client()
    for path in ("/dashboard/index.html.bak", "/dashboard/..%2F__init__.py", "/dashboard/x.js"):
        response = client.get(path)
        assert response.status_code == 404
