"""JSON uploads: ``{"name", "features": [[...], ...], "targets": [...] | [[...], ...]}``, or
records (``from_records``): ``{"name", "records": [{...}, ...], "target": "col" | [...]}``.

Rows are numbered from 0, as they are indexed in the body (``features[7]``). Extensions to
the API: ``target_kind`` ("labels" | "values") overrides the inference, ``feature_names`` /
``target_names`` name the columns, ``null`` in ``features`` is a missing cell, and
``column_kinds`` makes numeric columns categorical (docs/api.md). Inference: strings and
integers are labels, any float makes numbers values; a list of rows is values (several outputs),
and a list of label sets per row (lists of strings) is one 0/1 column per label (``label_sets``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .canonical import (
    ParsedDataset,
    build,
    check_name,
    check_target_kind,
    check_texts,
    first_non_finite,
    invalid,
    text_problem,
)
from .columns import Limits, column_kinds
from .label_sets import are_label_sets, label_set_values

KNOWN_FIELDS = ("name", "features", "targets", "target_kind", "feature_names", "target_names",
                "column_kinds")
_NUMBER_TYPES = (int, float)


def parse_json(body: Any, *, max_columns: int | None = None,
               limits: Limits | None = None) -> ParsedDataset:
    if isinstance(body, dict) and "records" in body:
        from .from_records import parse_records  # (it shares this module's target rules)

        return parse_records(body, max_columns=max_columns, limits=limits)
    if not isinstance(body, dict):
        raise invalid(["body"], "the body must be a JSON object with 'features' (and 'targets')"
                                " or 'records'")
    for key in body:
        if key not in KNOWN_FIELDS:
            shown = key if text_problem(key) is None else ascii(key)
            raise invalid(
                ["body", shown], f"unknown field {key!r}; the fields are {', '.join(KNOWN_FIELDS)}"
            )
    target_kind = body.get("target_kind")
    check_target_kind(target_kind, ["body", "target_kind"])
    check_name(body.get("name"), ["body", "name"])
    kinds = column_kinds(body.get("column_kinds"), ["body", "column_kinds"])
    X = _features(body.get("features"))
    n_rows, n_features = X.shape
    if max_columns is not None and n_features > max_columns:
        raise invalid(["body", "features"], f"features has {n_features:,} columns; the limit is "
                                            f"{max_columns:,} (DESCENT_MAX_DATASET_COLUMNS)")
    feature_names = _names(body.get("feature_names"), n_features, "feature_names", "features")
    common: dict[str, Any] = {"feature_names": feature_names, "loc": ["body", "features"],
                              "kinds": kinds, "limits": limits}
    targets = body.get("targets")
    if targets is None:
        if target_kind is not None:
            raise invalid(["body", "target_kind"], "target_kind is set but there are no targets")
        return build(X, **common)
    if not isinstance(targets, list) or len(targets) != n_rows:
        count = len(targets) if isinstance(targets, list) else "no"
        raise invalid(
            ["body", "targets"],
            f"targets must be a list with one entry per row: it has {count} entries for"
            f" {n_rows} rows of features",
        )
    if are_label_sets(targets):
        if body.get("target_names") is not None:
            raise invalid(["body", "target_names"], "label sets name their own labels; omit "
                                                    "target_names")
        values, labels_named = label_set_values(targets, ["body", "targets"], target_kind)
        return build(X, values=values, target_names=labels_named, task="multilabel", **common)
    if isinstance(targets[0], list):
        values = _feature_like(targets, "targets")
        if target_kind == "labels" and values.shape[1] == 1:
            targets = values[:, 0].tolist()
        elif target_kind == "labels":
            raise invalid(
                ["body", "target_kind"],
                f"labels need one target per row; targets has {values.shape[1]} per row",
            )
        else:
            names = _names(body.get("target_names"), values.shape[1], "target_names", "targets")
            return build(X, values=values, target_names=names, **common)
    labels, column = _flat_targets(targets, target_kind)
    target_names = _names(body.get("target_names"), 1, "target_names", "targets")
    return build(X, labels=labels, values=column, target_names=target_names, **common)


def _features(features: Any) -> np.ndarray:
    if not isinstance(features, list) or not features:
        raise invalid(["body", "features"], "features must be a non-empty list of rows")
    return _feature_like(features, "features", missing=True)


def _feature_like(rows: list[Any], field: str, missing: bool = False) -> np.ndarray:
    """A finite float64 matrix from a list of equal-length rows of numbers (not booleans);
    with ``missing``, ``null`` cells are NaN."""
    if not all(type(row) is list for row in rows):
        i = next(i for i, row in enumerate(rows) if type(row) is not list)
        raise invalid(
            ["body", field, i], f"{field}[{i}] must be a list of numbers, not {_describe(rows[i])}"
        )
    width = len(rows[0])
    if width == 0:
        raise invalid(["body", field, 0], f"{field}[0] is empty; rows need at least 1 value")
    for i, row in enumerate(rows):
        if len(row) != width:
            raise invalid(
                ["body", field, i],
                f"row {i} of {field} has {len(row)} values, expected {width} like row 0",
            )
    types = {type(v) for row in rows for v in row}
    allowed = {int, float, type(None)} if missing else {int, float}
    if not types <= allowed:
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                if type(v) not in allowed:
                    raise invalid(
                        ["body", field, i, j],
                        f"row {i}, column {j} of {field}: {_describe(v)} is not a number",
                    )
    try:
        array = np.array(rows, dtype=np.float64)
    except OverflowError:
        array = np.array([[_big(v) for v in row] for row in rows], dtype=np.float64)
    for i, j in np.argwhere(~np.isfinite(array)).tolist():
        if rows[i][j] is not None or not missing:
            raise invalid(
                ["body", field, i, j],
                f"row {i}, column {j} of {field}: {rows[i][j]!r} is not a finite number",
            )
    return array


def _big(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:
        return float("inf")  # reported as not finite


def _flat_targets(
    targets: list[Any], target_kind: str | None
) -> tuple[list[Any] | None, np.ndarray | None]:
    """``(labels, None)`` or ``(None, values n × 1)`` from a flat list of targets."""
    first_str = first_num = None
    for i, v in enumerate(targets):
        if isinstance(v, str):
            first_str = i if first_str is None else first_str
        elif type(v) in _NUMBER_TYPES:
            first_num = i if first_num is None else first_num
        else:
            raise invalid(
                ["body", "targets", i],
                f"targets[{i}] is {_describe(v)}; a target "
                "is a label (integer or string) or a number",
            )
    if first_str is not None and first_num is not None:
        raise invalid(
            ["body", "targets", max(first_str, first_num)],
            f"targets mix strings (targets[{first_str}] = {targets[first_str]!r}) and "
            f"numbers (targets[{first_num}] = {targets[first_num]!r}); use one type",
        )
    if first_str is not None:
        check_texts(targets, ["body", "targets"], "targets")
        if target_kind == "values":
            raise invalid(
                ["body", "targets", first_str],
                "target_kind 'values' needs numbers; "
                f"targets[{first_str}] is {targets[first_str]!r}",
            )
        return targets, None
    values = np.array([_big(v) for v in targets], dtype=np.float64).reshape(-1, 1)
    bad = first_non_finite(values)
    if bad is not None:
        i = bad[0]
        raise invalid(
            ["body", "targets", i], f"targets[{i}] = {targets[i]!r} is not a finite number"
        )
    all_ints = all(type(v) is int for v in targets)
    if target_kind == "labels" or (target_kind is None and all_ints):
        return targets, None
    return None, values


def _names(names: Any, count: int, field: str, of: str) -> list[str] | None:
    if names is None:
        return None
    if (
        not isinstance(names, list)
        or len(names) != count
        or not all(isinstance(n, str) and n for n in names)
    ):
        raise invalid(
            ["body", field], f"{field} must be {count} non-empty strings, one per column of {of}"
        )
    check_texts(names, ["body", field], field)
    if len(set(names)) != count:
        dup = next(n for n in names if names.count(n) > 1)
        raise invalid(["body", field], f"{field} names {dup!r} more than once")
    return names


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return "a list" if isinstance(value, list) else "an object"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
