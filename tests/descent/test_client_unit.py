"""The client without a server (httpx.MockTransport): problems, cursors, the event stream,
reconnection with Last-Event-ID, the polling fallback, and upload requests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from descent import Client, DescentAPIError, Event
from descent.transport import parse_sse
from descent.uploads import dataset_request

Handler = Callable[[httpx.Request], httpx.Response]


def make_client(handler: Handler) -> Client:
    return Client("http://descent.test", "k", transport=httpx.MockTransport(handler))


def job(status: str, epoch: int = 0) -> dict[str, Any]:
    return {"id": "job_1", "kind": "train", "status": status, "dataset_id": "ds_1", "spec": {},
            "progress": {"epoch": epoch, "epochs": 3}, "extra_field": "kept"}


def sse(*events: tuple[str, str, Any]) -> httpx.Response:
    body = "".join(f"id: {i}\nevent: {kind}\ndata: {json.dumps(data)}\n\n"
                   for kind, i, data in events)
    return httpx.Response(200, content=(": hello\n\n" + body).encode(),
                          headers={"content-type": "text/event-stream"})


def test_problem_answers_become_one_exception_with_fields() -> None:
    problem = {"type": "x", "title": "Invalid input", "status": 422, "detail": "row 3, column 2",
               "errors": [{"loc": ["body", "features", 3, 2], "msg": "not a number"}]}
    headers = {"content-type": "application/problem+json"}
    client = make_client(lambda r: httpx.Response(422, json=problem, headers=headers))
    with pytest.raises(DescentAPIError) as caught:
        client.get_job("job_1")
    error = caught.value
    assert (error.status, error.title, error.detail) == (422, "Invalid input", "row 3, column 2")
    assert error.errors == problem["errors"]
    assert "body.features.3.2: not a number" in str(error)


def test_a_non_json_error_is_still_a_descent_api_error() -> None:
    client = make_client(lambda r: httpx.Response(502, text="Bad Gateway"))
    with pytest.raises(DescentAPIError) as caught:
        client.get_model("mdl_1")
    assert caught.value.status == 502 and "Bad Gateway" in caught.value.detail


def test_lists_follow_cursors_and_keep_unknown_fields() -> None:
    seen: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.url.params))
        assert request.headers["authorization"] == "Bearer k"
        if "cursor" not in request.url.params:
            return httpx.Response(200, json={"data": [job("queued")], "next": "c2"})
        return httpx.Response(200, json={"data": [job("running")], "next": None})

    jobs = list(make_client(handler).list_jobs("queued", page_size=1))
    assert [j.status for j in jobs] == ["queued", "running"]
    assert seen == [{"status": "queued", "limit": "1"},
                    {"status": "queued", "limit": "1", "cursor": "c2"}]
    assert jobs[0].to_dict()["extra_field"] == "kept"


def test_parse_sse_joins_data_lines_and_skips_comments() -> None:
    lines = [": keep-alive", "event: epoch", "id: 7", "data: {\"a\":", "data: 1}", "", "retry: 5",
             "data: plain", ""]
    assert list(parse_sse(iter(lines))) == [("epoch", "7", '{"a":\n1}'),
                                            ("message", None, "plain")]


def test_wait_reconnects_with_last_event_id() -> None:
    streams: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/events"):
            streams.append(request.headers.get("last-event-id"))
            if len(streams) == 1:  # the connection drops after two epochs
                return sse(("status", "s1", job("running")),
                           ("epoch", "e1", {"epoch": 1, "loss": 0.9}),
                           ("epoch", "e2", {"epoch": 2, "loss": 0.8}))
            return sse(("epoch", "e3", {"epoch": 3, "loss": 0.7}),
                       ("status", "s2", job("succeeded", 3)))
        return httpx.Response(200, json=job("running"))

    events: list[Event] = []
    done = make_client(handler).wait("job_1", on_event=events.append, poll_interval=0.01)
    assert done.status == "succeeded"
    assert streams == [None, "e2"]
    assert [e.row.epoch for e in events if e.row] == [1, 2, 3]
    assert [e.job.status for e in events if e.job] == ["running", "succeeded"]


def test_wait_polls_when_the_server_cannot_stream() -> None:
    polls = {"job": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/events"):
            return httpx.Response(404, json={"title": "Not found", "status": 404})
        if path.endswith("/history"):
            after = int(request.url.params.get("after", 0))
            rows = [{"epoch": e, "loss": 1.0 / e} for e in range(1, polls["job"] + 1)]
            return httpx.Response(200, json={"data": [r for r in rows if r["epoch"] > after]})
        polls["job"] += 1
        return httpx.Response(200, json=job("succeeded" if polls["job"] >= 3 else "running",
                                            polls["job"]))

    events: list[Event] = []
    done = make_client(handler).wait("job_1", on_event=events.append, poll_interval=0.01)
    assert done.status == "succeeded"
    assert [e.row.epoch for e in events if e.row] == [1, 2, 3]
    assert [e.job.status for e in events if e.job][-1] == "succeeded"


def test_wait_gives_up_after_its_timeout() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/events"):
            return httpx.Response(404, json={"title": "Not found", "status": 404})
        if request.url.path.endswith("/history"):
            return httpx.Response(200, json={"data": []})
        return httpx.Response(200, json=job("queued"))

    with pytest.raises(TimeoutError, match="job_1"):
        make_client(handler).wait("job_1", timeout=0.2, poll_interval=0.05)


def test_upload_requests(tmp_path: Path) -> None:
    csv_file = tmp_path / "d.csv"
    csv_file.write_text("a,b,y,z\n1,2,3,4\n")
    request = dataset_request(csv_file, name="n", target=["y", "z"])
    assert request["data"] == {"name": "n", "target": ["y", "z"]}
    assert request["files"]["file"][0] == "d.csv"
    assert dataset_request([[1, 2]], ["a"]) == {"json": {"features": [[1, 2]], "targets": ["a"]}}
    with pytest.raises(ValueError, match=".txt"):
        dataset_request(tmp_path / "d.txt")
