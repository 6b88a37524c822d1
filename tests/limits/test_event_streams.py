"""Issue 16, item 6: event streams are capped per key and per process, cost no thread each, and
end soon after their key is revoked.

Before: 300 streams from one key pushed ``GET /v1/jobs`` to 13–40 s for everyone (each stream hopped
to a worker thread every 0.5 s), and an open stream kept delivering after its key was revoked.
"""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest

from descent import Client
from tests.limits.edge_helpers import new_key, problem, queued_job, revoke, row_counts
from tests.limits.harness import Attack, percentile
from tests.system.served import Served, serve

pytestmark = [pytest.mark.system, pytest.mark.slow]


async def _open_streams(
    served: Served, job_id: str, headers: dict[str, str], count: int, stack: AsyncExitStack,
    *, at_once: int = 50,
) -> list[httpx.Response]:
    """``count`` streams, ``at_once`` attempts at a time; the open ones stay open until
    ``stack`` closes."""
    client = await stack.enter_async_context(
        httpx.AsyncClient(base_url=served.url, headers=headers, timeout=30,
                          limits=httpx.Limits(max_connections=None))
    )
    gate = asyncio.Semaphore(at_once)

    async def one() -> httpx.Response:
        request = client.build_request("GET", f"/v1/jobs/{job_id}/events")
        async with gate:
            response = await client.send(request, stream=True)
        if response.status_code != 200:
            await response.aread()
            await response.aclose()
        else:
            stack.push_async_callback(response.aclose)
        return response

    return list(await asyncio.gather(*(one() for _ in range(count))))


def _statuses(responses: list[httpx.Response]) -> list[int]:
    return sorted(r.status_code for r in responses)


def test_streams_are_capped_per_key_and_per_process(tmp_path: Path) -> None:
    env = {"DESCENT_MAX_STREAMS_PER_KEY": "8", "DESCENT_MAX_STREAMS": "20"}
    with serve(tmp_path, workers=0, **env) as served:
        job_id = queued_job(served)
        keys = [new_key(tmp_path, "default")[1] for _ in range(3)]

        async def attack() -> None:
            async with AsyncExitStack() as stack:
                first = await _open_streams(served, job_id, keys[0], 12, stack)
                assert _statuses(first) == [200] * 8 + [429] * 4
                refused = next(r for r in first if r.status_code == 429)
                assert int(refused.headers["retry-after"]) > 0
                assert "DESCENT_MAX_STREAMS_PER_KEY" in problem(refused)["detail"]
                second = await _open_streams(served, job_id, keys[1], 8, stack)
                assert _statuses(second) == [200] * 8
                third = await _open_streams(served, job_id, keys[2], 8, stack)
                assert _statuses(third) == [200] * 4 + [429] * 4
                detail = problem(next(r for r in third if r.status_code == 429))["detail"]
                assert "DESCENT_MAX_STREAMS" in detail and "PER_KEY" not in detail
            # Closed streams give their slots back.
            async with AsyncExitStack() as stack:
                again = await _open_streams(served, job_id, keys[2], 8, stack)
                assert _statuses(again) == [200] * 8

        asyncio.run(attack())


def test_many_streams_from_one_key_leave_everyone_else_fast(tmp_path: Path) -> None:
    with serve(tmp_path, workers=0) as served:
        job_id = queued_job(served)
        _, other = new_key(tmp_path, "other")
        before = row_counts(tmp_path)
        listing: list[float] = []

        done = threading.Event()

        def list_jobs() -> None:
            """Another tenant lists its jobs while the streams open, and while 8 stay open."""
            with httpx.Client(base_url=served.url, headers=other, timeout=30) as client:
                while not done.is_set():
                    started = time.perf_counter()
                    assert client.get("/v1/jobs").status_code == 200
                    listing.append(time.perf_counter() - started)
                    done.wait(0.05)

        async def attack() -> list[httpx.Response]:
            async with AsyncExitStack() as stack:
                responses = await _open_streams(served, job_id, served.headers, 300, stack)
                await asyncio.sleep(1.0)  # 8 streams open, polled
                return responses

        lister = threading.Thread(target=list_jobs)
        with Attack(served) as probe:
            lister.start()
            try:
                responses = asyncio.run(attack())
            finally:
                done.set()
                lister.join()
        assert row_counts(tmp_path) == before
    print(f"GET /v1/jobs p99 {percentile(listing, 0.99) * 1000:.1f} ms; {probe.summary()}")
    assert _statuses(responses) == [200] * 8 + [429] * 292
    # Before: 13–40 s. A list takes several turns of the event loop (worker-thread hops), so it
    # feels a burst of refusals more than /healthz does; ~60 ms on a quiet machine.
    assert percentile(listing, 0.99) < 0.5, listing
    assert probe.healthz_p99 < 0.25, probe.summary()


def test_a_revoked_key_ends_its_open_stream(tmp_path: Path) -> None:
    with serve(tmp_path, workers=0) as served:
        key_id, headers = new_key(tmp_path, "default")
        job_id = queued_job(served, headers)
        with httpx.stream("GET", f"{served.url}/v1/jobs/{job_id}/events", headers=headers,
                          timeout=httpx.Timeout(30, read=8)) as response:
            assert response.status_code == 200
            lines = response.iter_lines()
            while next(lines) != "event: status":  # the stream is live
                pass
            revoke(tmp_path, key_id)
            revoked = time.monotonic()
            try:
                for _ in lines:  # ends when the server closes the stream
                    pass
            except httpx.ReadTimeout:
                pytest.fail("the stream was still open 8 s after its key was revoked")
            ended = time.monotonic() - revoked
        assert ended < 5.0, f"the stream went on for {ended:.1f} s after its key was revoked"
        again = httpx.get(f"{served.url}/v1/jobs/{job_id}/events", headers=headers)
        assert again.status_code == 401


def test_a_client_over_its_stream_cap_follows_the_job_by_polling(tmp_path: Path) -> None:
    with serve(tmp_path, workers=0, DESCENT_MAX_STREAMS_PER_KEY="1") as served:
        job_id = queued_job(served)
        with httpx.stream("GET", f"{served.url}/v1/jobs/{job_id}/events",
                          headers=served.headers) as held, Client(served.url, served.key) as sdk:
            assert held.status_code == 200
            assert httpx.get(f"{served.url}/v1/jobs/{job_id}/events",
                             headers=served.headers).status_code == 429
            cancel = threading.Timer(1.0, lambda: httpx.post(
                f"{served.url}/v1/jobs/{job_id}/cancel", headers=served.headers))
            cancel.start()
            job = sdk.wait(job_id, timeout=30, poll_interval=0.2)  # not a 429 error: polls
            cancel.join()
    assert job.status == "cancelled"
