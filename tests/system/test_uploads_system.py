"""Chunked uploads survive crashes (issue 20): the API killed with SIGKILL in the middle of a
part loses no completed part and shows no dataset; the client, interrupted too, resumes where
the server's record says and the completed dataset is the file it sent."""

from __future__ import annotations

import io
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import served
from served import serve

from descent import Client, chunked
from tests.processes import free_port

pytestmark = [pytest.mark.system, pytest.mark.slow]
PART = 256 * 1024


class Interrupted(Exception):
    pass


def test_kill_9_mid_part_loses_no_completed_part_and_shows_no_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    monkeypatch.setattr(served, "free_port", lambda: port)  # the restarted API answers there too
    monkeypatch.setattr(chunked, "PART_BYTES", PART)
    monkeypatch.setenv("DESCENT_UPLOAD_STATE", str(tmp_path / "client-uploads.json"))
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (1500, 784), dtype=np.uint8)
    y = rng.integers(0, 10, 1500)
    path = tmp_path / "pixels.npz"
    buffer = io.BytesIO()
    np.savez(buffer, X=X, y=y)
    path.write_bytes(buffer.getvalue())
    size = path.stat().st_size

    def stop_after_first_part(sent: int, total: int) -> None:
        if sent > 0:
            raise Interrupted  # the client dies after its first part

    with serve(tmp_path, workers=0) as api:
        with Client(api.url, api.key) as client, pytest.raises(Interrupted):
            client.upload_dataset(path, chunked=True, on_progress=stop_after_first_part)
        upload_id = chunked.unfinished(api.url, path)
        assert upload_id is not None
        # The next part, sent by hand, stalls halfway; the API is killed while it waits.
        arrived = threading.Event()

        def half_a_part() -> Iterator[bytes]:
            yield path.read_bytes()[PART : PART + PART // 2]
            arrived.set()
            time.sleep(30)
            yield b"never"

        def send() -> None:
            try:
                httpx.put(f"{api.url}/v1/uploads/{upload_id}", params={"offset": PART},
                          content=half_a_part(), headers={**api.headers,
                                                          "Content-Length": str(PART)},
                          timeout=60)
            except httpx.HTTPError:
                pass

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        assert arrived.wait(30)
        time.sleep(0.5)  # the half part reaches the API's staging file
        os.kill(api.process.pid, signal.SIGKILL)
        api.process.wait(30)

    with serve(tmp_path, workers=0) as api:
        with httpx.Client(base_url=api.url, headers=api.headers, timeout=30) as http:
            state = http.get(f"/v1/uploads/{upload_id}").json()
            assert state["received_bytes"] == PART  # the completed part, not the half one
            assert http.get("/v1/datasets").json()["data"] == []
        seen: list[int] = []
        with Client(api.url, api.key) as client:
            dataset = client.upload_dataset(path, chunked=True,
                                            on_progress=lambda sent, _: seen.append(sent))
        assert seen[0] == PART and seen[-1] == size  # resumed, not restarted
        assert (dataset.n_rows, dataset.n_features, dataset.bytes) == (1500, 784, size)
        assert chunked.unfinished(api.url, path) is None
        artifacts = tmp_path / "descent-artifacts"
        assert [p.name for p in (artifacts / "datasets").iterdir()] == [f"{dataset.id}.npz"]
        assert not any((artifacts / "tmp").iterdir())
        assert not any((tmp_path / "descent-uploads").iterdir())
