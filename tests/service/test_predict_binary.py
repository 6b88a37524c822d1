"""The binary door of predict: `.npy` and Arrow IPC bodies answer as JSON does, answers come back
in the format `Accept` asks for, and what could smuggle a pickle or a bomb is refused."""

from __future__ import annotations

import io
import pickle
import struct
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.ipc
import pytest
from api_helpers import auth, client_for, fake_model, row_counts, upload
from test_tables_api import table_csv, trained

from service.db import Database
from service.inference import arrow as arrow_format

NPY = "application/x-npy"
ARROW = "application/vnd.apache.arrow.stream"
ROWS = np.random.default_rng(3).standard_normal((40, 8))


def npy_body(array: np.ndarray, *, allow_pickle: bool = False) -> bytes:
    out = io.BytesIO()
    np.save(out, array, allow_pickle=allow_pickle)
    return out.getvalue()


def npy_header(shape: str) -> bytes:
    """A hand-written ``.npy`` 1.0 header (np.save never writes these shapes)."""
    header = f"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}".encode()
    header = header.ljust(117) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header


def lying_lengths(stream: bytes) -> bytes:
    """``stream`` (of 3-row batches) with every length of 3 declared as 5,000: buffers of 3
    rows that pyarrow's reader alone would read 5,000 rows from, beyond the body."""
    return stream.replace(struct.pack("<q", 3), struct.pack("<q", 5000))


def arrow_body(table: pa.Table, **options: Any) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema,
                           options=pa.ipc.IpcWriteOptions(**options)) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())


def read_arrow(content: bytes) -> pa.Table:
    return pa.ipc.open_stream(content).read_all()


def positional_model(db: Database, client: Any, headers: dict[str, str], task: str) -> str:
    """A model over 8 numbers by position (no column names): labels or one regression target."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 8))
    y = X @ rng.standard_normal(8)
    targets = [["low", "mid", "high"][int(v > -0.5) + int(v > 0.5)] for v in y] \
        if task == "classification" else y.tolist()
    dataset = upload(client, headers, {"name": task, "features": X.tolist(), "targets": targets})
    return fake_model(db, client, headers, dataset)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_npy_and_arrow_bodies_answer_as_json_does(db: Database, task: str) -> None:
    client, headers = client_for(db), auth(db)
    url = f"/v1/models/{positional_model(db, client, headers, task)}/predict"
    expected = client.post(url, json={"inputs": ROWS.tolist()}, headers=headers).json()
    assert len(expected["predictions"]) == len(ROWS)
    bodies = {
        "float64": npy_body(ROWS),
        "float32 Fortran": npy_body(np.asfortranarray(ROWS.astype(np.float32))),
        "big-endian": npy_body(ROWS.astype(">f8")),
        "arrow": arrow_body(pa.table({f"c{j}": ROWS[:, j] for j in range(8)})),
    }
    for name, body in bodies.items():
        media = ARROW if name == "arrow" else NPY
        r = client.post(url, content=body, headers={**headers, "Content-Type": media})
        assert r.status_code == 200, (name, r.text)
        got = r.json()
        if name == "float32 Fortran":  # float32 inputs: the same model, inputs rounded
            np.testing.assert_allclose(
                np.asarray(got["probabilities"] or got["predictions"], float),
                np.asarray(expected["probabilities"] or expected["predictions"], float),
                rtol=1e-4, atol=1e-5)
        else:
            assert got == expected, name

    as_npy = client.post(url, content=bodies["float64"],
                         headers={**headers, "Content-Type": NPY, "Accept": NPY})
    assert as_npy.status_code == 200 and as_npy.headers["content-type"] == NPY
    answer = np.load(io.BytesIO(as_npy.content), allow_pickle=False)
    assert answer.tolist() == expected["predictions"]

    as_arrow = client.post(url, content=bodies["float64"],
                           headers={**headers, "Content-Type": NPY, "Accept": ARROW})
    assert as_arrow.status_code == 200 and as_arrow.headers["content-type"] == ARROW
    table = read_arrow(as_arrow.content)
    assert table.column("prediction").to_pylist() == expected["predictions"]
    if task == "classification":
        assert table.column("probabilities").to_pylist() == expected["probabilities"]
        assert table.schema.metadata[b"classes"] == b'["high", "low", "mid"]'
    else:
        assert "probabilities" not in table.column_names

    # JSON in, Arrow out; and an Accept that names JSON first keeps JSON.
    mixed = client.post(url, json={"inputs": ROWS.tolist()},
                        headers={**headers, "Accept": f"application/json, {ARROW};q=0.5"})
    assert mixed.headers["content-type"] == "application/json" and mixed.json() == expected


def test_arrow_by_column_name_with_categories_nulls_and_extra_columns(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    _, model_id = trained(db, client, headers)
    url = f"/v1/models/{model_id}/predict"
    lines = [line.split(",") for line in table_csv().decode().split("\n")[1:41]]
    names = ["size", "color", "shape", "weight"]
    records = [{n: (None if not c else float(c) if n in ("size", "weight") else c)
                for n, c in zip(names, line[:4], strict=True)} for line in lines]
    records[1]["color"] = " red "  # read as JSON cells are: stripped
    expected = client.post(url, json={"inputs": [{**r, "note": "x"} for r in records]},
                           headers=headers).json()
    assert expected["ignored_columns"] == ["note"]
    # Columns in another order, a dictionary-encoded category, an extra column.
    table = pa.table({
        "note": ["x"] * len(records),
        "weight": pa.array([r["weight"] for r in records], pa.float32()),
        "color": pa.array([r["color"] for r in records]).dictionary_encode(),
        "shape": [r["shape"] for r in records],
        "size": [r["size"] for r in records],
    })
    r = client.post(url, content=arrow_body(table),
                    headers={**headers, "Content-Type": ARROW, "Accept": ARROW})
    assert r.status_code == 200, r.text
    answer = read_arrow(r.content)
    assert answer.column("prediction").to_pylist() == expected["predictions"]
    np.testing.assert_allclose(answer.column("probabilities").to_pylist(),
                               expected["probabilities"], rtol=1e-6, atol=1e-7)
    assert answer.schema.metadata[b"ignored_columns"] == b'["note"]'

    missing = client.post(url, content=arrow_body(table.drop_columns(["shape"])),
                          headers={**headers, "Content-Type": ARROW})
    assert missing.status_code == 422 and "no column 'shape'" in missing.json()["detail"]
    as_npy = client.post(url, content=npy_body(np.zeros((2, 4))),
                         headers={**headers, "Content-Type": NPY})
    assert as_npy.status_code == 422 and "'color', 'shape'" in as_npy.json()["detail"]
    unknown_weights = table.set_column(1, "weight", pa.nulls(len(records)))  # pandas' all-None
    r = client.post(url, content=arrow_body(unknown_weights),
                    headers={**headers, "Content-Type": ARROW})
    assert r.status_code == 200, r.text
    twice = client.post(url, content=arrow_body(table.append_column("shape", table["shape"])),
                        headers={**headers, "Content-Type": ARROW})
    assert twice.status_code == 422 and "2 columns named 'shape'" in twice.json()["detail"]


def test_stored_from_a_binary_body(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    url = f"/v1/models/{positional_model(db, client, headers, 'classification')}/predict"
    r = client.post(f"{url}?store=true", content=npy_body(ROWS[:5]),
                    headers={**headers, "Content-Type": NPY, "Accept": NPY})
    assert r.status_code == 200
    prediction_id = r.headers["Descent-Prediction-Id"]
    stored = client.get(f"/v1/predictions/{prediction_id}", headers=headers).json()
    assert stored["predictions"] == np.load(io.BytesIO(r.content)).tolist()


def test_pickles_object_arrays_and_bombs_are_refused(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    url = f"/v1/models/{positional_model(db, client, headers, 'classification')}/predict"
    before = row_counts(db)
    objects = np.array([[1.0, "a"] + [0.0] * 6], dtype=object)
    too_wide = np.zeros((2, 9))
    with_inf = ROWS[:3].copy()
    with_inf[2, 5] = np.inf
    truncated = npy_body(ROWS)[:-8]
    refusals = {
        "object dtype": (NPY, npy_body(objects, allow_pickle=True), "object dtype"),
        "a pickle": (NPY, pickle.dumps(ROWS), "not a .npy array"),
        "strings": (NPY, npy_body(np.array([["a"] * 8])), "dtype is <U1"),
        "structured": (NPY, npy_body(np.zeros(3, dtype=[("a", "f8")])), "dtype"),
        "one dimension": (NPY, npy_body(ROWS[0]), "reshape(1, -1)"),
        "too wide": (NPY, npy_body(too_wide), "9 columns"),
        "infinite": (NPY, npy_body(with_inf), "row 2, column 5"),
        "truncated": (NPY, truncated, "needs"),
        "garbled header": (NPY, npy_body(ROWS).replace(b"'shape': (", b"'shape': ((", 1),
                           "not a .npy array"),  # numpy's tokenize error, not a ValueError
        "compressed arrow": (ARROW, arrow_body(pa.table({f"c{j}": ROWS[:, j] for j in range(8)}),
                                              compression="zstd"), "compressed"),
        "not arrow": (ARROW, b"\x00" * 64, "not an Arrow IPC stream"),
        "lying arrow": (ARROW, lying_lengths(arrow_body(pa.table({f"c{j}": [1.5, 2.5, 3.5]
                                                                  for j in range(8)}))),
                        "too small"),
        "torn arrow": (ARROW, b"\xff\xff\xff\xff\x10" + b"\x00" * 43, "not an Arrow IPC"),
        "negative sizes": (NPY, npy_header("(-1, -8)") + b"\x00" * 64, "sizes ≥ 0"),
        "a boolean size": (NPY, npy_header("(True, 8)") + b"\x00" * 64, "sizes ≥ 0"),
        "strings in arrow": (ARROW, arrow_body(pa.table({f"c{j}": ["x"] for j in range(8)})),
                             "takes numbers"),
    }
    for name, (media, body, words) in refusals.items():
        r = client.post(url, content=body, headers={**headers, "Content-Type": media})
        assert r.status_code == 422, (name, r.status_code, r.text)
        assert words in r.json()["detail"], (name, r.json()["detail"])
    pickled = client.post(url, content=pickle.dumps(ROWS),
                          headers={**headers, "Content-Type": "application/python-pickle"})
    assert pickled.status_code == 415
    assert row_counts(db) == before


def test_without_pyarrow_arrow_is_a_415_that_says_so(db: Database,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    client, headers = client_for(db), auth(db)
    url = f"/v1/models/{positional_model(db, client, headers, 'classification')}/predict"
    monkeypatch.setattr(arrow_format, "pa", None)  # as on a server installed without the extra
    for extra in ({"Content-Type": ARROW}, {"Content-Type": NPY, "Accept": ARROW}):
        r = client.post(url, content=npy_body(ROWS[:2]), headers={**headers, **extra})
        assert r.status_code == 415 and "pyarrow is not installed" in r.json()["detail"]
    r = client.post(url, content=npy_body(ROWS[:2]), headers={**headers, "Content-Type": NPY})
    assert r.status_code == 200


def test_accept_picks_the_format_weighed_most() -> None:
    from service.routes.predict import answer_media

    assert answer_media(None) == "application/json"
    assert answer_media("*/*") == "application/json"
    assert answer_media(NPY) == NPY
    assert answer_media(f"application/json;q=0.5, {ARROW}") == ARROW
    assert answer_media(f"{NPY}, {ARROW}") == NPY  # a tie: the first named
    assert answer_media(f"{NPY};q=0, application/json") == "application/json"


def test_numbers_only_recognises_bodies_of_numbers_alone() -> None:
    from service.inference import numbers_only

    assert numbers_only(b'{"inputs": [[1, -2.5e-3, 3E+4], [0, 1, 2]]}')
    assert numbers_only(b'{"store": true, "inputs": [[1]]}')
    for body in (b'{"inputs": [[1, true]]}', b'{"inputs": [[1, null]]}',
                 b'{"inputs": [["1"]]}', b'{"inputs": [{"a": 1}]}', b'{"inputs": [[NaN]]}'):
        assert not numbers_only(body), body


def test_a_lookup_that_began_before_a_revocation_is_not_remembered(db: Database) -> None:
    from service.auth import Caller
    from service.key_cache import KeyCache
    from service.keys import create_key, revoke_key

    cache = KeyCache()
    key_id, _ = create_key(db, tenant="acme")
    cache.refresh(db)
    caller = Caller(tenant_id="t", key_id=key_id)
    began = cache.generation  # a lookup starts, and finds the key valid …
    assert revoke_key(db, key_id=key_id)
    cache.refresh(db)  # … a check sees the revocation meanwhile …
    cache.remember("digest", caller, began)  # … so its answer is dropped
    assert cache.get("digest") is None
    cache.remember("digest", caller, cache.generation)
    assert cache.get("digest") == caller
