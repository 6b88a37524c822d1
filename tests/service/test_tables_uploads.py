"""Uploads of real tables: column kinds inferred or given, missing cells, records, the limits
(each refusal names its row and column)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from service import artifacts
from service.datasets import Limits, parse_csv, parse_json, parse_npz
from service.errors import InvalidInput

CSV = (b"age,city,income,zip,label\n"
       b"31,Paris,1.5,75001,yes\n"
       b",Lyon,,69001,no\n"
       b"45,,2.5,75001,yes\n"
       b"52,Paris,3.0,13001,no\n")


def refused(call: object, *args: object, **kwargs: object) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    return info.value


def test_csv_kinds_missing_cells_and_the_schema() -> None:
    ds = parse_csv(CSV, targets=["label"], column_kinds={"zip": "categorical"})
    assert ds.columns == [
        {"name": "age", "kind": "numeric", "missing": 1, "categories": None},
        {"name": "city", "kind": "categorical", "missing": 1, "categories": 2},
        {"name": "income", "kind": "numeric", "missing": 1, "categories": None},
        {"name": "zip", "kind": "categorical", "missing": 0, "categories": 3},
    ]
    assert ds.classes == ["no", "yes"]
    city = ds.table.columns[1]
    assert city.categories == ("Lyon", "Paris") and city.values.tolist() == [1, 0, -1, 1]
    table, y = artifacts.decode_table(ds.encode())  # stored and read back as it was
    assert table.schema() == ds.columns and np.array_equal(y, ds.y)
    assert np.isnan(table.columns[0].values[1])


def test_csv_text_late_in_a_numeric_looking_column_keeps_every_cells_text() -> None:
    rows = "".join(f"{i % 7}.50,{i}\n" for i in range(1500)) + "n/a,1\n"
    ds = parse_csv(("code,y\n" + rows).encode(), targets=["y"], target_kind="values")
    code = ds.table.columns[0]
    assert code.kind == "categorical" and "n/a" in (code.categories or ())
    assert "3.50" in (code.categories or ())  # the cell's own text, not a float's repr


def test_csv_refusals_name_row_and_column() -> None:
    forced = refused(parse_csv, CSV, targets=["label"], column_kinds={"city": "numeric"})
    assert "row 1 (line 2), column 'city'" in forced.detail and "'Paris'" in forced.detail
    many = b"c,y\n" + b"".join(b"v%d,1\n" % i for i in range(10))
    over = refused(parse_csv, many, targets=["y"], limits=Limits(max_categories=4))
    assert "row 5 (line 6), column 'c'" in over.detail
    assert "DESCENT_MAX_COLUMN_CATEGORIES" in over.detail
    wide = refused(parse_csv, many, targets=["y"], limits=Limits(max_width=5))
    assert "column 'c'" in wide.detail and "DESCENT_MAX_ENCODED_WIDTH" in wide.detail
    unknown = refused(parse_csv, CSV, targets=["label"], column_kinds={"nope": "numeric"})
    assert "'nope'" in unknown.detail
    nan = refused(parse_csv, b"x,y\n1,0\nnan,1\n", targets=["y"])
    assert "row 2 (line 3), column 'x'" in nan.detail
    nan_and_blank = refused(parse_csv, b"x,y\n,0\nNaN,1\n", targets=["y"])
    assert "row 2 (line 3), column 'x'" in nan_and_blank.detail
    assert "leave the cell empty" in nan_and_blank.detail


def records() -> list[dict[str, object]]:
    return [
        {"age": 31, "city": "Paris", "income": 1.5, "zip": 75001, "label": "yes"},
        {"city": "Lyon", "age": None, "income": None, "zip": 69001, "label": "no"},
        {"age": 45, "city": None, "income": 2.5, "zip": 75001, "label": "yes"},
        {"age": 52, "city": "Paris", "income": 3.0, "zip": 13001, "label": "no"},
    ]


def test_records_match_the_csv_upload() -> None:
    from_csv = parse_csv(CSV, targets=["label"], column_kinds={"zip": "categorical"})
    ds = parse_json({"records": records(), "target": "label",
                     "column_kinds": {"zip": "categorical"}})
    assert ds.columns == from_csv.columns and ds.feature_names == from_csv.feature_names
    assert ds.sha256 == from_csv.sha256  # the same table dedupes whatever the format


def test_records_refusals_name_record_and_column() -> None:
    lacking = records()
    del lacking[2]["income"]
    error = refused(parse_json, {"records": lacking, "target": "label"})
    assert "record 2 has no 'income'" in error.detail
    assert error.errors[0]["loc"] == ["body", "records", 2, "income"]
    extra = records()
    extra[1]["bonus"] = 1
    assert "record 1 has 'bonus'" in refused(parse_json, {"records": extra}).detail
    null_target = records()
    null_target[3]["label"] = None
    assert "record 3, column 'label'" in refused(
        parse_json, {"records": null_target, "target": "label"}).detail
    forced = refused(parse_json, {"records": records(), "column_kinds": {"city": "numeric"},
                                  "target": "label"})
    assert "record 0, column 'city'" in forced.detail
    assert "'nope'" in refused(parse_json, {"records": records(), "target": "nope"}).detail


def test_features_matrix_and_npz_take_missing_cells() -> None:
    ds = parse_json({"features": [[1, None], [3, 4]], "targets": [0, 1],
                     "feature_names": ["a", "b"], "column_kinds": {"a": "categorical"}})
    assert ds.columns[1]["missing"] == 1 and ds.columns[0]["kind"] == "categorical"
    buffer = io.BytesIO()
    np.savez(buffer, X=np.array([[1.0, np.nan], [2.0, 3.0]]), y=np.array([0, 1]))
    npz = parse_npz(buffer.getvalue())
    assert npz.columns[1]["missing"] == 1
