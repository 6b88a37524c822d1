"""Hostile input: strings that are not text, NUL bytes, deep nesting, 64-bit numbers, long
names. Each is a 4xx problem that names the field, stores nothing, and leaves the tenant's
lists working — on SQLite and on PostgreSQL (whose driver refuses NUL and >64-bit integers)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from api_helpers import XOR, TestClient, auth, client_for, fake_model, row_counts, upload

from service.db import Database
from service.ids import is_valid_id, new_id

Api = tuple[TestClient, dict[str, str], str, str, str]


@pytest.fixture
def api(db: Database) -> Iterator[Api]:
    client, headers = client_for(db), auth(db)
    dataset_id = upload(client, headers)
    model_id = fake_model(db, client, headers, dataset_id)
    job_id = client.get("/v1/jobs", headers=headers).json()["data"][0]["id"]
    yield client, headers, dataset_id, model_id, job_id


def _rejected(db: Database, client: TestClient, headers: dict[str, str], send: Any,
              status: int, *needles: str) -> dict[str, Any]:
    before = row_counts(db)
    response = send()
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    text = (problem["detail"] + " " + str(problem.get("errors"))).lower()
    for needle in needles:
        assert needle.lower() in text, problem
    assert row_counts(db) == before
    for listing in ("/v1/datasets", "/v1/jobs", "/v1/models"):
        assert client.get(listing, headers=headers).status_code == 200
    return problem


def _post_json(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> Any:
    # json.dumps writes a lone surrogate as the escape "\ud800", as a hostile client would.
    content = json.dumps(body)
    return lambda: client.post("/v1/datasets", content=content,
                               headers={**headers, "Content-Type": "application/json"})


def test_ids_have_one_shape() -> None:
    value = new_id("ds")
    assert is_valid_id(value) and is_valid_id(value, "ds")
    assert not is_valid_id(value, "job")
    for bad in ("", "ds_", "ds_\x00", value + "\n", value + "\x00", value.lower(),
                value[:-1] + "I", "x" * 5000, "\ud800", None, 3):
        assert not is_valid_id(bad), bad


LONE = "\ud800"
SURROGATE_BODIES = [
    ({**XOR, "targets": [LONE, "yes", "yes", "no"] * 3}, ["body", "targets", 0]),
    ({**XOR, "name": "a" + LONE}, ["body", "name"]),
    ({**XOR, "feature_names": ["a", "b" + LONE]}, ["body", "feature_names", 1]),
    ({**XOR, "target_names": ["\udfff"]}, ["body", "target_names", 0]),
    ({**XOR, "targets": ["a\x00", "yes", "yes", "no"] * 3}, ["body", "targets", 0]),
    ({**XOR, "feature_names": ["a", "b\x00"]}, ["body", "feature_names", 1]),
    ({**XOR, "name": "a\x00b"}, ["body", "name"]),
    ({**XOR, "name": "line\nbreak"}, ["body", "name"]),
    ({**XOR, LONE: 1}, None),
]


@pytest.mark.parametrize(("body", "loc"), SURROGATE_BODIES)
def test_strings_that_are_not_text_are_refused(
    db: Database, api: Api, body: dict[str, Any], loc: list[Any] | None
) -> None:
    client, headers, *_ = api
    problem = _rejected(db, client, headers, _post_json(client, headers, body), 422)
    if loc is not None:
        assert problem["errors"][0]["loc"] == loc, problem
        assert str(loc[1]) in problem["detail"]


def test_npz_labels_that_are_not_text_are_refused(db: Database, api: Api) -> None:
    client, headers, *_ = api
    buffer = io.BytesIO()
    np.savez(buffer, X=np.eye(4), y=np.array(["a", LONE, "b", "a"]))
    send = lambda: client.post(  # noqa: E731
        "/v1/datasets", files={"file": ("d.npz", buffer.getvalue())}, headers=headers)
    _rejected(db, client, headers, send, 422, "y[1]", "surrogate")


def test_csv_header_and_labels_with_nul_are_refused(db: Database, api: Api) -> None:
    client, headers, *_ = api
    padding = b"".join(b"%d,%d,a\n" % (i, i) for i in range(1000))  # past the binary sniff

    def send(csv: bytes) -> Any:
        return lambda: client.post("/v1/datasets", files={"file": ("d.csv", csv)},
                                   data={"target": "y"}, headers=headers)

    _rejected(db, client, headers, send(b"a,b,y\n" + padding + b"1,2,b\x00\n"), 422, "nul")
    header = b",".join(b"c%d" % i for i in range(1000)) + b",y\x00z\n"
    row = b",".join(b"1" for _ in range(1001)) + b"\n"
    _rejected(db, client, headers, send(header + row + row), 422, "header")


def test_multipart_name_is_checked_like_json(db: Database, api: Api) -> None:
    client, headers, *_ = api
    csv = b"a,b,y\n1,2,0\n3,4,1\n5,6,0\n"

    def send(name: str) -> Any:
        return lambda: client.post("/v1/datasets", files={"file": ("d.csv", csv)},
                                   data={"target": "y", "name": name}, headers=headers)

    for name in ("n" * 5000, "n" * 201, "x\0y", "tab\there"):
        problem = _rejected(db, client, headers, send(name), 422, "name")
        assert problem["errors"][0]["loc"] == ["body", "name"]
    _rejected(db, client, headers, _post_json(client, headers, {**XOR, "name": "n" * 5000}),
              422, "200")
    ok = client.post("/v1/datasets", files={"file": ("d.csv", csv)},
                     data={"target": "y", "name": "n" * 200}, headers=headers)
    assert ok.status_code == 201, ok.text
    assert ok.json()["name"] == "n" * 200


def test_ids_that_cannot_exist_are_not_found(db: Database, api: Api) -> None:
    client, headers, dataset_id, model_id, job_id = api
    gets = [
        "/v1/jobs/%00", "/v1/jobs/x%00y", "/v1/jobs/x%00y/history", "/v1/jobs/x%00y/events",
        f"/v1/jobs/{dataset_id}", f"/v1/jobs/{job_id}x",
        "/v1/models/x%00y", "/v1/models/x%00y/weights", "/v1/models/x%00y/onnx",
        f"/v1/models/{dataset_id}", "/v1/predictions/x%00y", "/v1/datasets/ds_%00",
        "/v1/datasets/" + "d" * 5000,
    ]
    for url in gets:
        _rejected(db, client, headers, lambda url=url: client.get(url, headers=headers), 404)
    _rejected(db, client, headers,
              lambda: client.delete("/v1/datasets/x%00", headers=headers), 404)
    _rejected(db, client, headers,
              lambda: client.post("/v1/jobs/x%00/cancel", headers=headers), 404)
    posts: list[tuple[str, dict[str, Any]]] = [
        ("/v1/jobs", {"dataset_id": "ds_\x00"}),
        ("/v1/jobs/estimate", {"dataset_id": "ds_\x00"}),
        (f"/v1/models/{model_id}/batch-predictions", {"dataset_id": "x\x00"}),
        ("/v1/models/x%00/batch-predictions", {"dataset_id": dataset_id}),
        ("/v1/models/x%00/predict", {"inputs": [[0, 1]]}),
        ("/v1/models/x%00y/predict", {"inputs": [[0, 1]], "store": True}),
    ]
    for url, body in posts:
        content = json.dumps(body)
        _rejected(db, client, headers, lambda url=url, content=content: client.post(
            url, content=content, headers={**headers, "Content-Type": "application/json"}),
            404)
    # pydantic refuses a string that is not text before any lookup.
    _rejected(db, client, headers, lambda: client.post(
        "/v1/jobs", content=json.dumps({"dataset_id": LONE}),
        headers={**headers, "Content-Type": "application/json"}), 422, "dataset_id")
    # The real ones still answer.
    assert client.get(f"/v1/jobs/{job_id}", headers=headers).status_code == 200
    assert client.get(f"/v1/datasets/{dataset_id}", headers=headers).status_code == 200
    predict = client.post(f"/v1/models/{model_id}/predict", json={"inputs": [[0, 1]]},
                          headers=headers)
    assert predict.status_code == 200, predict.text


@pytest.mark.parametrize("listing", ["/v1/datasets", "/v1/jobs", "/v1/models"])
@pytest.mark.parametrize("cursor", ["%00", "x%00y", "ds_", "%F0%9F%98%80"])
def test_malformed_cursor_is_422_naming_it(
    db: Database, api: Api, listing: str, cursor: str
) -> None:
    client, headers, *_ = api
    problem = _rejected(db, client, headers,
                        lambda: client.get(f"{listing}?cursor={cursor}", headers=headers),
                        422, "cursor")
    assert problem["errors"][0]["loc"] == ["query", "cursor"]


def test_deeply_nested_json_is_400(db: Database, api: Api) -> None:
    client, headers, *_ = api
    for content in ("[" * 100_000, '{"features": ' + "[" * 100_000, "[" * 100_000 + "]" * 100_000):
        _rejected(db, client, headers, lambda content=content: client.post(
            "/v1/datasets", content=content,
            headers={**headers, "Content-Type": "application/json"}), 400, "nested too deeply")


def test_numbers_past_64_bits_are_422(db: Database, api: Api) -> None:
    client, headers, _, model_id, job_id = api
    for after in (2**63, 2**63 - 1, -(2**63) - 1, 2**31, -1):
        url = f"/v1/jobs/{job_id}/history?after={after}"
        _rejected(db, client, headers, lambda url=url: client.get(url, headers=headers),
                  422, "after")
    top = client.get(f"/v1/jobs/{job_id}/history?after={2**31 - 1}", headers=headers)
    assert top.status_code == 200 and top.json()["data"] == []
    stored = client.post(f"/v1/models/{model_id}/predict",
                         json={"inputs": [[0, 1]], "store": True}, headers=headers).json()
    url = f"/v1/predictions/{stored['prediction_id']}"
    for offset in (2**63, 2**31, -1):
        _rejected(db, client, headers,
                  lambda offset=offset: client.get(f"{url}?offset={offset}", headers=headers),
                  422, "offset")
    last = client.get(f"{url}?offset={2**31 - 1}", headers=headers)
    assert last.status_code == 200 and last.json()["predictions"] == []


@pytest.mark.parametrize("last_event_id", [
    "e1000000000000000000000000000000.x", "e-99999999999999999999999.x", "e9" * 200, "junk",
    "e2147483648.succeeded.0",
])
def test_unusable_last_event_id_starts_from_the_beginning(
    api: Api, last_event_id: str
) -> None:
    client, headers, _, _, job_id = api
    response = client.get(f"/v1/jobs/{job_id}/events",
                          headers={**headers, "Last-Event-ID": last_event_id})
    assert response.status_code == 200
    assert "event: status" in response.text  # the job (succeeded) is sent from the start
    assert '"succeeded"' in response.text
