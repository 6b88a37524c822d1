"""service.datasets: parsing JSON, CSV and .npz uploads; every rejection names its row/column."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest

from service import artifacts
from service.datasets import (
    ParsedDataset,
    check_upload_size,
    parse_csv,
    parse_file,
    parse_json,
    parse_npz,
)
from service.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType


def npz_bytes(**arrays: object) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def refused(call: object, *args: object, **kwargs: object) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    error = info.value
    assert error.errors and error.errors[0]["msg"] == error.detail
    return error


# -- JSON --------------------------------------------------------------------------------------


def test_json_int_labels_sorted_numerically() -> None:
    ds = parse_json({"features": [[1, 2], [3, 4], [5, 6]], "targets": [10, 2, 10]})
    assert ds.target_kind == "labels"
    assert ds.classes == [2, 10]
    assert ds.y is not None and ds.y.tolist() == [1, 0, 1] and ds.y.dtype == np.int64
    assert ds.X.dtype == np.float64 and ds.X.shape == (3, 2)
    assert (ds.n_rows, ds.n_features, ds.n_targets) == (3, 2, 1)


def test_json_string_labels_sorted_lexicographically() -> None:
    ds = parse_json({"features": [[1], [2], [3]], "targets": ["dog", "Cat", "ant"]})
    assert ds.classes == ["Cat", "ant", "dog"]
    assert ds.y is not None and ds.y.tolist() == [2, 0, 1]


def test_json_floats_are_values() -> None:
    ds = parse_json({"features": [[1], [2]], "targets": [1, 2.5]})
    assert ds.target_kind == "values" and ds.classes is None
    assert ds.y is not None and ds.y.shape == (2, 1) and ds.n_targets == 1


def test_json_rows_of_targets_are_values() -> None:
    ds = parse_json({"features": [[1], [2]], "targets": [[1, 2], [3, 4]]})
    assert ds.target_kind == "values" and ds.n_targets == 2


def test_json_without_targets() -> None:
    ds = parse_json({"name": "x", "features": [[1], [2]]})
    assert ds.y is None and ds.target_kind is None and ds.n_targets == 0


def test_json_target_kind_override() -> None:
    ds = parse_json({"features": [[1], [2]], "targets": [1.0, 2.0], "target_kind": "labels"})
    assert ds.target_kind == "labels" and ds.classes == [1, 2]
    assert isinstance(ds.classes[0], int)
    ds = parse_json({"features": [[1], [2]], "targets": [1, 2], "target_kind": "values"})
    assert ds.target_kind == "values"
    error = refused(
        parse_json, {"features": [[1], [2]], "targets": ["a", "b"], "target_kind": "values"}
    )
    assert "'a'" in error.detail


@pytest.mark.parametrize(
    ("body", "loc", "words"),
    [
        (
            {"features": [[1, 2], [3]], "targets": [0, 1]},
            ["body", "features", 1],
            ["row 1", "1 values", "expected 2"],
        ),
        (
            {"features": [[1, 2], [3, "abc"]]},
            ["body", "features", 1, 1],
            ["row 1, column 1", "'abc' is not a number"],
        ),
        ({"features": [[1, True], [3, 4]]}, ["body", "features", 0, 1], ["true"]),
        ({"features": [[1.0], [float("nan")]]}, ["body", "features", 1, 0], ["not a finite"]),
        ({"features": [[1.0], [float("inf")]]}, ["body", "features", 1, 0], ["not a finite"]),
        ({"features": [[1.0], [10**400]]}, ["body", "features", 1, 0], ["not a finite"]),
        (
            {"features": [[1], [2]], "targets": [1.0, float("nan")]},
            ["body", "targets", 1],
            ["targets[1]"],
        ),
        ({"features": [[1]], "targets": [0]}, ["body", "features"], ["1 row", "at least 2"]),
        ({"features": []}, ["body", "features"], ["non-empty"]),
        ({"features": [[], []]}, ["body", "features", 0], ["empty"]),
        ({"features": [[1], [2]], "targets": [0]}, ["body", "targets"], ["1 entries", "2 rows"]),
        ({"features": [[1], [2]], "targets": [0, "a"]}, ["body", "targets", 1], ["mix"]),
        ({"features": [[1], [2]], "targets": [0, None]}, ["body", "targets", 1], ["null"]),
        ({"features": [[1], [2]], "target": [0, 1]}, ["body", "target"], ["unknown field"]),
        (
            {"features": [[1], [2]], "targets": [[1], [1, 2]]},
            ["body", "targets", 1],
            ["row 1 of targets"],
        ),
        (
            {"features": [[1], [2]], "target_kind": "classes", "targets": [0, 1]},
            ["body", "target_kind"],
            ["'labels' or 'values'"],
        ),
        ({"features": [1, 2]}, ["body", "features", 0], ["must be a list"]),
        ([1, 2], ["body"], ["JSON object"]),
    ],
)
def test_json_rejections(body: object, loc: list[object], words: list[str]) -> None:
    error = refused(parse_json, body)
    assert error.errors[0]["loc"] == loc
    for word in words:
        assert word in error.detail


def test_json_feature_names_extension() -> None:
    ds = parse_json({"features": [[1, 2], [3, 4]], "feature_names": ["a", "b"]})
    assert ds.feature_names == ["a", "b"]
    refused(parse_json, {"features": [[1, 2], [3, 4]], "feature_names": ["a", "a"]})


# -- CSV ---------------------------------------------------------------------------------------


def test_csv_labels_values_and_names() -> None:
    ds = parse_csv(b"a,b,label\n1,2,cat\n3,4,dog\n5,6,cat\n", targets=["label"])
    assert ds.feature_names == ["a", "b"] and ds.target_names == ["label"]
    assert ds.classes == ["cat", "dog"] and ds.target_kind == "labels"
    ds = parse_csv(b"a,label\n1,3\n2,-1\n3,3\n", targets=["label"])
    assert ds.classes == [-1, 3] and ds.target_kind == "labels"
    ds = parse_csv(b"a,label\n1,3.0\n2,1e2\n", targets=["label"])
    assert ds.target_kind == "values"
    ds = parse_csv(b"t,a,u\n1,2,3\n4,5,6\n", targets=["t", "u"])
    assert ds.target_kind == "values" and ds.n_targets == 2 and ds.feature_names == ["a"]
    assert ds.y is not None and ds.y.tolist() == [[1, 3], [4, 6]]


def test_csv_numbers_in_a_label_column_with_strings_are_strings() -> None:
    ds = parse_csv(b"a,label\n1,10\n2,9\n3,x\n", targets=["label"])
    assert ds.classes == ["10", "9", "x"]


def test_csv_without_targets_bom_quotes_and_blank_lines() -> None:
    ds = parse_csv(b'\xef\xbb\xbf"a","b"\r\n1,2\r\n\r\n3,"4"\r\n', targets=[])
    assert ds.y is None and ds.feature_names == ["a", "b"] and ds.X.tolist() == [[1, 2], [3, 4]]


def test_csv_target_kind_override() -> None:
    ds = parse_csv(b"a,t\n1,1.0\n2,2.0\n", targets=["t"], target_kind="labels")
    assert ds.classes == [1, 2]
    ds = parse_csv(b"a,t\n1,1\n2,2\n", targets=["t"], target_kind="values")
    assert ds.target_kind == "values"
    error = refused(parse_csv, b"a,t\n1,1\n2,x\n", targets=["t"], target_kind="values")
    assert "row 2" in error.detail and "'x'" in error.detail


@pytest.mark.parametrize(
    ("data", "targets", "words"),
    [
        (b"a,b,c\n1,2,3\n4,5\n", ["c"], ["row 2 (line 3)", "2 values", "expected 3"]),
        (b"x,y\n1,0\nnan,1\n", ["y"], ["row 2", "column 'x'", "not a finite"]),
        (b"x,y\n1,0\n2,inf\n", ["y"], ["row 2", "column 'y'", "not a finite"]),
        (b"x,y,z\n1,0,1\n2,1,a\n", ["y", "z"], ["row 2", "column 'z'", "'a'"]),
        (b"x,y\n1,0\n", ["y"], ["1 row", "at least 2"]),
        (b"x,y\n", ["y"], ["no data rows"]),
        (b"", [], ["empty"]),
        (b"x,y\n\xff\xfe,1\n", [], ["UTF-8"]),
        (b"x,x\n1,2\n3,4\n", [], ["'x' more than once"]),
        (b"x,,z\n1,2,3\n3,4,5\n", [], ["column 2", "no name"]),
        (b"a,b\n1,2\n3,4\n", ["label"], ["target column 'label' is not in the CSV header", "'a'"]),
        (b"a,b\n1,2\n3,4\n", ["a", "b"], ["at least 1 feature"]),
        (b"a,b\n1,2\n3,4\n", ["b", "b"], ["twice"]),
        (b"a,b\n1,2\n3,\n", ["b"], ["row 2", "target is empty"]),
        (b'a,b\n1,"2\n', [], ["cannot be read"]),
    ],
)
def test_csv_rejections(data: bytes, targets: list[str], words: list[str]) -> None:
    error = refused(parse_csv, data, targets=targets)
    for word in words:
        assert word in error.detail, error.detail


def test_csv_line_numbers_count_blank_lines() -> None:
    error = refused(parse_csv, b"x,y\n1,0\n\n\n2,z,9\n", targets=["y"])
    assert "row 2 (line 5)" in error.detail


@pytest.mark.slow
def test_csv_ten_megabytes_parses_quickly() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50_000, 20))
    buffer = io.StringIO()
    np.savetxt(
        buffer,
        np.column_stack([X, rng.integers(0, 10, 50_000)]),
        delimiter=",",
        fmt=["%.6f"] * 20 + ["%d"],
        header=",".join([f"f{i}" for i in range(20)] + ["y"]),
        comments="",
    )
    data = buffer.getvalue().encode()
    assert len(data) > 8_000_000
    start = time.perf_counter()
    ds = parse_csv(data, targets=["y"])
    assert time.perf_counter() - start < 10
    assert ds.n_rows == 50_000 and ds.classes == list(range(10))


# -- npz ---------------------------------------------------------------------------------------


def test_npz_labels_and_values() -> None:
    ds = parse_npz(npz_bytes(X=np.ones((3, 2), np.float32), y=np.array([2, 0, 2])))
    assert ds.classes == [0, 2] and ds.X.dtype == np.float32  # stored as it came
    ds = parse_npz(npz_bytes(X=np.ones((3, 2)), y=np.array(["b", "a", "b"])))
    assert ds.classes == ["a", "b"]
    ds = parse_npz(npz_bytes(X=np.ones((3, 2)), y=np.array([0.5, 1, 2])))
    assert ds.target_kind == "values" and ds.n_targets == 1
    ds = parse_npz(npz_bytes(X=np.ones((3, 2)), y=np.ones((3, 4))))
    assert ds.target_kind == "values" and ds.n_targets == 4
    ds = parse_npz(
        npz_bytes(X=np.ones((3, 2)), y=np.array([[1.0], [0.0], [1.0]])), target_kind="labels"
    )
    assert ds.classes == [0, 1] and ds.y is not None and ds.y.shape == (3,)
    ds = parse_npz(npz_bytes(X=np.ones((3, 2))))
    assert ds.y is None


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (npz_bytes(y=np.ones(3)), ["no array 'X'", "y"]),
        (npz_bytes(X=np.array([[1, None], [2, 3]], dtype=object)), ["object array", "pickle"]),
        (npz_bytes(X=np.ones(3)), ["2-D"]),
        (npz_bytes(X=np.array([["a"], ["b"]])), ["numbers", "dtype"]),
        (npz_bytes(X=np.array([[1.0], [np.inf]])), ["X[1, 0]", "finite"]),
        (npz_bytes(X=np.ones((3, 1)), y=np.ones(2)), ["one entry per row"]),
        (npz_bytes(X=np.ones((2, 1)), y=np.array([1.0, np.inf])), ["y[1]", "finite"]),
        (npz_bytes(X=np.ones((1, 1))), ["at least 2"]),
        (b"PK\x03\x04garbage", ["not a valid .npz"]),
        (b"", ["empty"]),
    ],
)
def test_npz_rejections(data: bytes, words: list[str]) -> None:
    error = refused(parse_npz, data)
    for word in words:
        assert word in error.detail, error.detail


def test_npz_uncompressed_size_limit() -> None:
    error = refused(parse_npz, npz_bytes(X=np.zeros((1000, 10))), max_array_bytes=1000)
    assert "limit" in error.detail


# -- canonical content, dedupe, dispatch ---------------------------------------------------------


def test_same_content_same_sha_across_formats() -> None:
    X = [[1.5, -2.0], [0.0, 4.25], [3.0, 1.0]]
    named = {"feature_names": ["u", "v"], "target_names": ["t"]}
    from_json = parse_json({"name": "a", "features": X, "targets": [1, 0, 1], **named})
    from_csv = parse_csv(b"u,v,t\n1.5,-2,1\n-0.0,4.25,0\n3,1.0,1\n", targets=["t"])
    assert from_json.sha256 == from_csv.sha256
    unnamed = parse_json({"name": "a", "features": X, "targets": [1, 0, 1]})
    from_npz = parse_npz(npz_bytes(X=np.array(X, np.float64), y=np.array([1, 0, 1])))
    assert unnamed.sha256 == from_npz.sha256 != from_csv.sha256  # x0, x1 are not u, v
    values_json = parse_json({"features": X, "targets": [1.0, 0.5, 1.0], **named})
    values_csv = parse_csv(b"u,v,t\n1.5,-2,1\n0,4.25,0.5\n3,1,1\n", targets=["t"])
    assert values_json.sha256 == values_csv.sha256 != from_json.sha256


def test_sha_differs_with_content() -> None:
    base = parse_json({"features": [[1], [2]], "targets": [0, 1]})
    assert base.sha256 != parse_json({"features": [[1], [2]], "targets": [1, 0]}).sha256
    assert base.sha256 != parse_json({"features": [[1], [2]], "targets": ["0", "1"]}).sha256
    assert base.sha256 != parse_json({"features": [[1], [2]]}).sha256
    assert base.sha256 != parse_json({"features": [[1], [3]], "targets": [0, 1]}).sha256


def test_encode_round_trips_through_artifacts() -> None:
    ds = parse_json({"features": [[1, 2], [3, 4]], "targets": ["x", "y"]})
    X, y = artifacts.decode_dataset(ds.encode())
    assert np.array_equal(X, ds.X) and y is not None and np.array_equal(y, ds.y)
    assert isinstance(ds, ParsedDataset)


def test_parse_file_dispatch() -> None:
    assert parse_file(b"a,t\n1,0\n2,1\n", filename="d.csv", targets=["t"]).classes == [0, 1]
    npz = npz_bytes(X=np.ones((2, 1)), y=np.array([0, 1]))
    assert parse_file(npz, filename="whatever.bin").classes == [0, 1]
    refused(parse_file, npz, filename="d.npz", targets=["t"])
    with pytest.raises(UnsupportedMediaType):
        parse_file(b"\x00\x01binary", filename="d.xlsx")
    with pytest.raises(UnsupportedMediaType):
        parse_file(b"abc\x00def", filename="d")


def test_check_upload_size() -> None:
    check_upload_size(10, limit=10)
    with pytest.raises(PayloadTooLarge, match="11 bytes"):
        check_upload_size(11, limit=10)
