"""Big data in: chunked uploads (`/v1/uploads`), datasets kept in their dtype in the artifact
store (a directory beside the SQLite file, or an fsspec URL), quotas, and the artifact going
with its dataset."""

from __future__ import annotations

import hashlib
import io
import mmap
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from api_helpers import auth, client_for

from service import artifact_store, artifacts, tables
from service.db import Database
from service.repository import datasets as dataset_store


def npz_of(**arrays: Any) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def pixels(n: int = 300, d: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, d), dtype=np.uint8), rng.integers(0, 3, n)


def chunked(client: Any, headers: dict[str, str], data: bytes, part: int,
            **complete: Any) -> Any:
    started = client.post("/v1/uploads", json={"total_bytes": len(data)}, headers=headers)
    assert started.status_code == 201, started.text
    upload_id = started.json()["id"]
    for offset in range(0, len(data), part):
        sent = client.put(f"/v1/uploads/{upload_id}", params={"offset": offset},
                          content=data[offset : offset + part], headers=headers)
        assert sent.status_code == 200, sent.text
        assert sent.json()["received_bytes"] == min(offset + part, len(data))
    return client.post(f"/v1/uploads/{upload_id}/complete", headers=headers,
                       json={"format": "npz", **complete})


def stored_row(db: Database, dataset_id: str) -> tables.Dataset:
    with db.read() as session:
        row = session.get(tables.Dataset, dataset_id)
    assert row is not None
    return row


def test_chunked_upload_stores_the_dtype_as_it_came_beside_the_database(db: Database) -> None:
    if not db.is_sqlite:
        pytest.skip("the default store is beside the SQLite file")
    client, headers = client_for(db), auth(db)
    X, y = pixels()
    data = npz_of(X=X, y=y)
    done = chunked(client, headers, data, part=2000, name="pixels",
                   sha256=hashlib.sha256(data).hexdigest())
    assert done.status_code == 201, done.text
    answer = done.json()
    assert (answer["n_rows"], answer["n_features"], answer["bytes"]) == (300, 20, len(data))
    row = stored_row(db, answer["id"])
    assert row.content is None and row.artifact == f"datasets/{row.id}.npz"
    store = artifact_store.for_database(db.url)
    assert store is not None and Path(store.root).parent == Path(db.url.split("///")[1]).parent
    path = Path(store.root) / row.artifact
    assert hashlib.sha256(path.read_bytes()).hexdigest() == row.artifact_sha256
    assert artifacts.stored_dtype(str(path)) == "uint8"  # not widened to float64
    table, stored_y = dataset_store.read_columns(db, row)
    assert table.matrix().dtype == np.float64 and np.array_equal(table.matrix(), X)
    assert np.array_equal(np.asarray(row.classes)[stored_y], y)
    # The same numbers as float64 (JSON) are the same dataset.
    again = client.post("/v1/datasets", headers=headers,
                        json={"features": X.tolist(), "targets": y.tolist()})
    assert again.status_code == 200 and again.json()["id"] == row.id
    # Deleting the dataset removes its artifact.
    assert client.delete(f"/v1/datasets/{row.id}", headers=headers).status_code == 204
    assert not path.exists() and dataset_store.orphans(db) == []


def test_a_part_at_the_wrong_offset_is_refused_and_the_upload_resumes(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    X, y = pixels(seed=1)
    data = npz_of(X=X, y=y)
    upload_id = client.post("/v1/uploads", json={}, headers=headers).json()["id"]
    first = client.put(f"/v1/uploads/{upload_id}", params={"offset": 0}, content=data[:1000],
                       headers=headers)
    assert first.status_code == 200 and first.json()["received_bytes"] == 1000
    wrong = client.put(f"/v1/uploads/{upload_id}", params={"offset": 0}, content=data[:1000],
                       headers=headers)
    assert wrong.status_code == 409 and "offset 1000" in wrong.json()["detail"]
    early = client.post(f"/v1/uploads/{upload_id}/complete", json={"format": "npz"},
                        headers=headers)
    assert early.status_code == 422  # half an .npz is not a dataset
    assert client.get("/v1/datasets", headers=headers).json()["data"] == []
    state = client.get(f"/v1/uploads/{upload_id}", headers=headers).json()
    assert state["received_bytes"] == 1000
    rest = client.put(f"/v1/uploads/{upload_id}", params={"offset": 1000}, content=data[1000:],
                      headers=headers)
    assert rest.status_code == 200
    done = client.post(f"/v1/uploads/{upload_id}/complete", json={"format": "npz"},
                       headers=headers)
    assert done.status_code == 201, done.text
    assert client.get(f"/v1/uploads/{upload_id}", headers=headers).status_code == 404


def test_a_wrong_sha256_is_refused_and_other_tenants_see_nothing(db: Database) -> None:
    client, headers, other = client_for(db), auth(db), auth(db, tenant="other")
    data = npz_of(X=pixels()[0])
    upload_id = client.post("/v1/uploads", json={"total_bytes": len(data)},
                            headers=headers).json()["id"]
    assert client.get(f"/v1/uploads/{upload_id}", headers=other).status_code == 404
    assert client.put(f"/v1/uploads/{upload_id}", params={"offset": 0}, content=data,
                      headers=other).status_code == 404
    client.put(f"/v1/uploads/{upload_id}", params={"offset": 0}, content=data, headers=headers)
    wrong = client.post(f"/v1/uploads/{upload_id}/complete", headers=headers,
                        json={"format": "npz", "sha256": "0" * 64})
    assert wrong.status_code == 422 and "sha256" in wrong.text
    assert client.delete(f"/v1/uploads/{upload_id}", headers=headers).status_code == 204
    assert client.get(f"/v1/uploads/{upload_id}", headers=headers).status_code == 404


def test_limits_and_the_tenant_quota(db: Database) -> None:
    client = client_for(db, max_upload_bytes=20_000, max_tenant_storage_bytes=25_000)
    headers = auth(db)
    too_big = client.post("/v1/uploads", json={"total_bytes": 20_001}, headers=headers)
    assert too_big.status_code == 413 and "DESCENT_MAX_UPLOAD_BYTES" in too_big.text
    X, y = pixels(n=500, d=20)
    data = npz_of(X=X, y=y)
    assert 11_000 < len(data) < 20_000
    first = client.post("/v1/datasets", files={"file": ("a.npz", data)}, headers=headers)
    assert first.status_code == 201, first.text
    over = client.post("/v1/uploads", json={"total_bytes": 15_000}, headers=headers)
    assert over.status_code == 413 and "DESCENT_MAX_TENANT_STORAGE_BYTES" in over.text
    X2, y2 = pixels(n=500, d=20, seed=2)
    second = client.post("/v1/datasets", files={"file": ("b.npz", npz_of(X=X2, y=y2))},
                         headers=headers)
    assert second.status_code == 413 and "quota" in second.text
    # Another tenant has a quota of its own.
    fresh = client.post("/v1/uploads", json={"total_bytes": 15_000}, headers=auth(db, "other"))
    assert fresh.status_code == 201



def test_every_part_is_held_to_the_quota_announced_or_streamed(db: Database) -> None:
    """Announcing total_bytes reserves nothing: two uploads each announced under the quota may
    not together fill past it, nor may a part sent without Content-Length."""
    client = client_for(db, max_upload_bytes=20_000, max_tenant_storage_bytes=25_000)
    headers = auth(db)
    ids = [client.post("/v1/uploads", json={"total_bytes": 15_000}, headers=headers).json()["id"]
           for _ in range(2)]
    part = b"x" * 15_000
    first = client.put(f"/v1/uploads/{ids[0]}", params={"offset": 0}, content=part,
                       headers=headers)
    assert first.status_code == 200, first.text
    second = client.put(f"/v1/uploads/{ids[1]}", params={"offset": 0}, content=part,
                        headers=headers)
    assert second.status_code == 413 and "DESCENT_MAX_TENANT_STORAGE_BYTES" in second.text
    unannounced = client.post("/v1/uploads", json={}, headers=headers).json()["id"]
    streamed = client.put(f"/v1/uploads/{unannounced}", params={"offset": 0},
                          content=iter([b"y" * 4_000] * 4), headers=headers)
    assert streamed.status_code == 413 and "quota" in streamed.text
    left = client.get(f"/v1/uploads/{unannounced}", headers=headers).json()
    assert left["received_bytes"] == 0

def test_an_fsspec_store_holds_the_artifact(db: Database) -> None:
    pytest.importorskip("fsspec")
    url = f"memory://descent-{uuid.uuid4().hex}"
    client, headers = client_for(db, artifact_store=url), auth(db)
    X = np.random.default_rng(3).normal(size=(50, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    created = client.post("/v1/datasets", files={"file": ("f.npz", npz_of(X=X, y=y))},
                          headers=headers)
    assert created.status_code == 201, created.text
    row = stored_row(db, created.json()["id"])
    store = artifact_store.for_database(db.url)
    assert store is not None and store.fs is not None and store.url.startswith("memory://")
    assert store.exists(row.artifact or "") and store.keys("tmp") == []
    with store.open(row.artifact or "") as file:
        assert artifacts.stored_dtype(file) == "float32"
    table, _ = dataset_store.read_columns(db, row)
    assert np.array_equal(table.matrix(), X.astype(np.float64))
    assert client.delete(f"/v1/datasets/{row.id}", headers=headers).status_code == 204
    assert not store.exists(row.artifact or "")


def test_an_uncompressed_npz_file_is_parsed_from_a_memory_map(tmp_path: Path) -> None:
    from service.datasets import parse_npz

    X, y = pixels(n=1000, d=30)
    path = tmp_path / "pixels.npz"
    np.savez(path, X=X, y=y)
    with open(path, "rb") as file:
        parsed = parse_npz(file)
    base = parsed.table.block
    while base is not None and not isinstance(base, np.memmap | mmap.mmap):
        base = getattr(base, "base", None)
    assert base is not None  # a view of the file's pages: never read whole into memory
    block = parsed.table.block
    assert block is not None and block.dtype == np.uint8 and np.array_equal(block, X)
    assert parsed.sha256 == parse_npz(npz_of(X=X, y=y)).sha256  # as from bytes
    assert parsed.classes == [0, 1, 2] and np.array_equal(parsed.y, y)
    assert [c["missing"] for c in parsed.columns] == [0] * 30


def npy_of(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def test_binary_bodies_npy_and_npz(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    X, y = pixels(n=60, d=4)
    matrix = np.column_stack([X, y]).astype(np.int16)  # the last column, x4, is the target
    answer = client.post("/v1/datasets", content=npy_of(matrix), params={"target": "x4"},
                         headers={**headers, "Content-Type": "application/x-npy"})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["n_features"], body["classes"], body["target_names"]) == (4, [0, 1, 2], ["x4"])
    records = np.zeros(60, dtype=[("age", "f4"), ("city", "U8"), ("churned", "U3")])
    records["age"], records["city"] = X[:, 0], np.array(["paris", "lyon", ""])[y]
    records["churned"] = np.where(X[:, 1] > 128, "yes", "no")
    table = client.post("/v1/datasets", content=npy_of(records),
                        params={"target": "churned", "name": "structured"},
                        headers={**headers, "Content-Type": "application/x-npy"})
    assert table.status_code == 201, table.text
    columns = {c["name"]: c for c in table.json()["columns"]}
    assert columns["city"]["kind"] == "categorical" and columns["city"]["missing"] > 0
    assert table.json()["classes"] == ["no", "yes"] and table.json()["name"] == "structured"
    pickled = client.post("/v1/datasets", content=npy_of(np.array([[1, "a"]], dtype=object)),
                          headers={**headers, "Content-Type": "application/x-npy"})
    assert pickled.status_code == 422 and "pickle" in pickled.text
    npz = client.post("/v1/datasets", content=npz_of(X=X, y=y),
                      headers={**headers, "Content-Type": "application/x-npz"})
    assert npz.status_code == 201 and npz.json()["n_features"] == 4
    # The same .npy in parts.
    data = npy_of(matrix.astype(np.float32))
    done = chunked(client, headers, data, part=500, format="npy", target=["x4"],
                   target_kind="values")
    assert done.status_code == 201, done.text
    assert (done.json()["target_kind"], done.json()["n_features"]) == ("values", 4)


def test_releasing_a_mapped_uploads_pages_keeps_its_values(tmp_path: Path) -> None:
    X, _ = pixels(n=2000, d=50)
    path = tmp_path / "x.npz"
    np.savez(path, X=X)
    from service.datasets import parse_npz

    with open(path, "rb") as file:
        block = parse_npz(file).table.block
    assert block is not None
    artifacts.release_pages(block)  # dropped from memory, read again from the file
    assert np.array_equal(block, X)
    artifacts.release_pages(np.ones(3))  # not mapped: nothing to do


def test_an_empty_upload_and_a_garbled_npy_header_are_refused_not_failed(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    empty = client.post("/v1/uploads", json={}, headers=headers).json()["id"]
    answer = client.post(f"/v1/uploads/{empty}/complete", json={"format": "npz"}, headers=headers)
    assert answer.status_code == 422 and "empty" in answer.text
    data = npy_of(np.zeros((10, 10), np.float32)).replace(b"(10, 10)", b"(10**9,1")
    npy = client.post("/v1/datasets", content=data,
                      headers={**headers, "Content-Type": "application/x-npy"})
    assert npy.status_code == 422 and "not a valid .npy" in npy.text  # numpy's SyntaxError
    garbled = npz_of(X=np.zeros((10, 10)), y=np.zeros(10)).replace(b"(10, 10)", b"(10**9,1")
    refused = client.post("/v1/datasets", files={"file": ("b.npz", garbled)}, headers=headers)
    assert refused.status_code == 422, refused.text
