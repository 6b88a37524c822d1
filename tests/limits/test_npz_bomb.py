"""Issue 16, item 3: an .npz that decompresses to far more than it weighs (a zip bomb) is
refused from its zip directory and array header, before anything is decompressed."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import httpx
import numpy as np
import pytest
from harness import MB, Attack
from rows import count, database_url

from service import tables
from tests.system.served import serve

pytestmark = [pytest.mark.system, pytest.mark.slow]


def zeros_npz(rows: int, columns: int) -> bytes:
    """An .npz whose X is ``rows × columns`` float64 zeros, compressed a chunk at a time."""
    buffer = io.BytesIO()
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (rows, columns)})
    chunk = bytes(8 * columns * 10_000)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive, \
            archive.open("X.npy", "w", force_zip64=True) as member:
        member.write(header.getvalue())
        for start in range(0, rows, 10_000):
            member.write(chunk[: 8 * columns * (min(rows, start + 10_000) - start)])
    return buffer.getvalue()


def test_an_npz_bomb_is_refused_unread(tmp_path: Path) -> None:
    bomb = zeros_npz(6_400_000, 10)  # 512 MB of zeros in well under 1 MB
    assert len(bomb) < 1 * MB
    env = {"DESCENT_MAX_DATASET_ARRAY_BYTES": str(64 * MB)}
    with serve(tmp_path, workers=0, **env) as served, Attack(served) as attack:
        response = httpx.post(f"{served.url}/v1/datasets", headers=served.headers,
                              files={"file": ("bomb.npz", bomb)}, timeout=120)
    assert response.status_code == 422, response.text
    assert "DESCENT_MAX_DATASET_ARRAY_BYTES" in response.json()["detail"]
    assert attack.healthz_p99 < 0.25, attack.summary()
    assert attack.rss_growth < 50 * MB, attack.summary()
    assert count(database_url(tmp_path), tables.Dataset) == 0
