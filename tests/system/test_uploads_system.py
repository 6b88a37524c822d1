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
from service.routes.uploads import WRITE_BYTES
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
            except Exception:  # noqa: BLE001 - the API is killed under it: any error is expected
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


def test_completing_while_a_part_streams_in_is_refused_until_the_part_is_written(
    tmp_path: Path,
) -> None:
    """A complete must not truncate and parse the staging file while a part is still being
    written into it: it answers 409 (busy) until the part's answer, then completes."""
    rng = np.random.default_rng(1)
    buffer = io.BytesIO()
    np.savez(buffer, X=rng.integers(0, 256, (12_000, 784), dtype=np.uint8),
             y=rng.integers(0, 3, 12_000))
    data = buffer.getvalue()
    half = len(data) // 2
    first_write = half + WRITE_BYTES  # the API writes the part in blocks of WRITE_BYTES
    release = threading.Event()

    def stalled_part() -> Iterator[bytes]:
        yield data[half:first_write]
        release.wait(60)
        yield data[first_write:]

    with serve(tmp_path, workers=0) as api, \
            httpx.Client(base_url=api.url, headers=api.headers, timeout=60) as http:
        upload_id = http.post("/v1/uploads", json={}).json()["id"]
        first = http.put(f"/v1/uploads/{upload_id}", params={"offset": 0}, content=data[:half])
        assert first.status_code == 200, first.text
        answers: list[httpx.Response] = []
        sender = threading.Thread(target=lambda: answers.append(httpx.put(
            f"{api.url}/v1/uploads/{upload_id}", params={"offset": half}, content=stalled_part(),
            headers={**api.headers, "Content-Length": str(len(data) - half)}, timeout=60)))
        sender.start()
        staging = [p for p in (tmp_path / "descent-uploads").rglob("*") if p.is_file()]
        deadline = time.monotonic() + 30
        while not (staging and staging[0].stat().st_size >= first_write):
            assert time.monotonic() < deadline, "the part's first block never reached the file"
            time.sleep(0.02)
        early = http.post(f"/v1/uploads/{upload_id}/complete", json={"format": "npz"})
        release.set()
        sender.join(60)
        assert early.status_code == 409 and "busy" in early.json()["detail"], early.text
        assert answers and answers[0].status_code == 200, answers
        assert answers[0].json()["received_bytes"] == len(data)
        done = http.post(f"/v1/uploads/{upload_id}/complete", json={"format": "npz"})
        assert done.status_code == 201, done.text
        assert (done.json()["n_rows"], done.json()["n_features"]) == (12_000, 784)
        again = http.post(f"/v1/uploads/{upload_id}/complete", json={"format": "npz"})
        assert again.status_code == 404, again.text  # completed: gone, not "send again"
