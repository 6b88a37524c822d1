"""``/docs`` renders with no network: headless Chromium, every host but the server unreachable,
the operations listed, and no request sent anywhere but the server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cdp import Browser
from descent_server import Server, running_server

from service.apidocs import ASSETS, ASSETS_PATH

pytestmark = [pytest.mark.system, pytest.mark.slow]

# Every host name but the server's address fails to resolve: the browser is offline.
OFFLINE = ("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",)
OPERATIONS = "[...document.querySelectorAll('.opblock-summary')].map(e => e.innerText)"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("docs-server"), workers=0) as running:
        yield running


def test_the_docs_page_names_no_other_host(server: Server) -> None:
    page = httpx.get(f"{server.url}/docs", timeout=30)
    assert page.status_code == 200 and "swagger-ui" in page.text
    assert re.findall(r"(?:src|href)=\"([^\"]+)\"", page.text) == [
        f"{ASSETS_PATH}/swagger-ui.css", f"{ASSETS_PATH}/favicon-32x32.png",
        f"{ASSETS_PATH}/swagger-ui-bundle.js"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    for name, media_type in ASSETS.items():
        asset = httpx.get(f"{server.url}{ASSETS_PATH}/{name}", timeout=30)
        assert asset.status_code == 200 and asset.headers["content-type"] == media_type
    assert httpx.get(f"{server.url}{ASSETS_PATH}/LICENSE", timeout=30).status_code == 404
    assert httpx.get(f"{server.url}/redoc", timeout=30).status_code == 404


def test_docs_renders_its_operations_offline(server: Server, chromium: str,
                                             tmp_path: Path) -> None:
    browser = Browser(chromium, tmp_path / "profile", flags=OFFLINE)
    try:
        reach = "fetch('https://cdn.jsdelivr.net/', {mode: 'no-cors'}).then(() => 'reached', " \
                "() => 'offline')"
        assert browser.evaluate(reach) == "offline"  # on about:blank, no page policy in the way
        browser.call("Network.enable")
        browser.navigate(f"{server.url}/docs")
        browser.wait_for("document.querySelectorAll('.opblock').length >= 10", timeout=90)
        operations = browser.evaluate(OPERATIONS)
        assert any(re.search(r"POST\s*/v1/datasets\b", o) for o in operations), operations
        assert any(re.search(r"GET\s*/v1/jobs/\{job_id\}", o) for o in operations), operations
        assert browser.evaluate("document.querySelector('.info .title')?.innerText || ''")
        requested = [e["params"]["request"]["url"] for e in browser.events
                     if e["method"] == "Network.requestWillBeSent"]
    finally:
        browser.close()
    assert f"{server.url}{ASSETS_PATH}/swagger-ui-bundle.js" in requested
    assert f"{server.url}/openapi.json" in requested
    elsewhere = [u for u in requested if not u.startswith((server.url + "/", "data:"))]
    assert not elsewhere, elsewhere
