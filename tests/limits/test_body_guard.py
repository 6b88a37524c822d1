"""Issue 16, item 1: the key is checked before any body is read, and every body is capped.

Before: 95 MB of JSON to ``/v1/jobs`` with no key was read and parsed on the event loop (401
after 21 s, +1.2 GB); a chunked body to predict had no cap at all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.limits.edge_helpers import MB, XOR, problem, row_counts
from tests.limits.harness import Attack
from tests.system.served import serve

pytestmark = [pytest.mark.system, pytest.mark.slow]

BODY_MB = 40
# A job spec as large as the default cap allows: 1 MiB of layers (29,000 of them).
WIDE_SPEC = b'{"dataset_id": "ds_00000000000000000000000000", "network": {"hidden_layers": [' + (
    b'{"units": 1, "activation": "relu"},' * 29_000
) + b'{"units": 1}]}}'


def _json_body(megabytes: int) -> bytes:
    return b'{"dataset_id": "' + b"x" * (megabytes * MB) + b'"}'


def _chunks(total: int, size: int = 256 * 1024) -> Iterator[bytes]:
    """``total`` bytes of a JSON body, sent without a Content-Length (chunked)."""
    yield b'{"inputs": ['
    sent = 0
    while sent < total:
        yield b"[0.5, 0.25]," * (size // 12)
        sent += size
    yield b"[0, 0]]}"


def test_a_large_body_without_a_key_is_refused_before_it_is_read(tmp_path: Path) -> None:
    body = _json_body(BODY_MB)
    with serve(tmp_path, workers=0) as served:
        before = row_counts(tmp_path)
        with Attack(served) as attack:
            started = time.perf_counter()
            response = httpx.post(f"{served.url}/v1/jobs", content=body, timeout=60,
                                  headers={"Content-Type": "application/json"})
            elapsed = time.perf_counter() - started
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"] == "Bearer"
        assert problem(response)["detail"] == (
            "Send your API key as `Authorization: Bearer <key>`.")
        # The other documented texts are unchanged too.
        bad = httpx.post(f"{served.url}/v1/jobs", content=body,
                         headers={"Authorization": "Bearer dk_nope"}, timeout=60)
        assert problem(bad)["detail"] == "This API key is not valid (unknown or revoked)."
        assert row_counts(tmp_path) == before
    print(f"401 after {elapsed:.2f} s; {attack.summary()}")
    assert elapsed < 2.0, f"{elapsed:.2f} s; {attack.summary()}"
    assert attack.rss_growth < 20 * MB, attack.summary()
    assert attack.healthz_p99 < 0.25, attack.summary()


def test_a_body_over_its_cap_is_refused_on_its_content_length(tmp_path: Path) -> None:
    body = _json_body(BODY_MB)
    with serve(tmp_path, workers=0) as served:
        before = row_counts(tmp_path)
        with Attack(served) as attack:
            jobs = httpx.post(f"{served.url}/v1/jobs", content=body, timeout=60,
                              headers={**served.headers, "Content-Type": "application/json"})
            estimate = httpx.post(f"{served.url}/v1/jobs/estimate", content=body, timeout=60,
                                  headers={**served.headers, "Content-Type": "application/json"})
        assert row_counts(tmp_path) == before
    for response in (jobs, estimate):
        assert response.status_code == 413, response.text
        assert "DESCENT_MAX_JSON_BODY_BYTES" in problem(response)["detail"]
    print(attack.summary())
    assert attack.rss_growth < 20 * MB, attack.summary()
    assert attack.healthz_p99 < 0.25, attack.summary()


def test_a_chunked_body_over_its_cap_is_refused_while_it_is_read(tmp_path: Path) -> None:
    with serve(tmp_path, workers=0, DESCENT_MAX_PREDICT_BYTES=str(8 * MB)) as served:
        before = row_counts(tmp_path)
        headers = {**served.headers, "Content-Type": "application/json"}
        with Attack(served) as attack:
            predict = httpx.post(
                f"{served.url}/v1/models/mdl_00000000000000000000000000/predict",
                content=_chunks(BODY_MB * MB), headers=headers, timeout=60,
            )
            # FastAPI's own body reading must answer our 413, not its 400 "error parsing".
            jobs = httpx.post(f"{served.url}/v1/jobs", content=_chunks(2 * MB),
                              headers=headers, timeout=60)
        assert row_counts(tmp_path) == before
    assert predict.status_code == 413, predict.text
    assert "DESCENT_MAX_PREDICT_BYTES" in problem(predict)["detail"]
    assert jobs.status_code == 413, jobs.text
    assert "DESCENT_MAX_JSON_BODY_BYTES" in problem(jobs)["detail"]
    print(attack.summary())
    assert attack.rss_growth < 20 * MB, attack.summary()
    assert attack.healthz_p99 < 0.25, attack.summary()


def test_large_job_specs_are_parsed_off_the_event_loop(tmp_path: Path) -> None:
    """Four clients sending 1 MiB specs (the cap) back to back: /healthz stays fast."""
    stop = threading.Event()
    statuses: list[int] = []

    def send(url: str, headers: dict[str, str]) -> None:
        with httpx.Client(timeout=60) as client:
            while not stop.is_set():
                statuses.append(client.post(f"{url}/v1/jobs", content=WIDE_SPEC,
                                             headers=headers).status_code)

    assert len(WIDE_SPEC) <= MB
    with serve(tmp_path, workers=0) as served:
        headers = {**served.headers, "Content-Type": "application/json"}
        with Attack(served) as attack:
            senders = [threading.Thread(target=send, args=(served.url, headers))
                       for _ in range(4)]
            for sender in senders:
                sender.start()
            time.sleep(4)
            stop.set()
            for sender in senders:
                sender.join()
    assert statuses and set(statuses) == {404}, set(statuses)  # parsed, validated: no dataset
    print(attack.summary())
    assert attack.healthz_p99 < 0.25, attack.summary()


def test_routes_without_a_key_still_answer(tmp_path: Path) -> None:
    with serve(tmp_path, workers=0) as served, httpx.Client(base_url=served.url) as client:
        for path in ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json", "/",
                     "/dashboard/app.js"):
            assert client.get(path).status_code == 200, path
        assert client.get("/v1/jobs").status_code == 401
        upload = client.post("/v1/datasets", json=XOR, headers=served.headers)
        assert upload.status_code == 201, upload.text
