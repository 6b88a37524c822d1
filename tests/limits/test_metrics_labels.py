"""Issue 16, item 7: invented HTTP methods cannot grow ``/metrics`` without bound.

Before: each unauthenticated request with a new method added a label set to
``descent_http_request_duration_seconds`` (50 requests made the page 53 MB).
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.limits.edge_helpers import MB, row_counts
from tests.limits.harness import Attack
from tests.system.served import serve

pytestmark = [pytest.mark.system, pytest.mark.slow]


def test_invented_methods_share_one_label(tmp_path: Path) -> None:
    with serve(tmp_path, workers=0) as served, httpx.Client(base_url=served.url) as client:
        before = row_counts(tmp_path)
        baseline = len(client.get("/metrics").content)
        with Attack(served) as attack:
            for i in range(50):
                method = f"M{i:02d}" + "X" * 4000
                for path in ("/healthz", f"/nowhere/{i}", "/v1/jobs"):
                    client.request(method, path)
        page = client.get("/metrics").text
        assert row_counts(tmp_path) == before
    assert set(re.findall(r'method="([^"]*)"', page)) == {"GET", "other"}
    assert "XXXX" not in page and "/nowhere" not in page
    assert len(page) < baseline + 64 * 1024, len(page)
    print(attack.summary())
    assert attack.rss_growth < 20 * MB, attack.summary()
