"""Tables for the API: pandas DataFrames and lists of records as uploads and predict inputs.

pandas is never imported here: a DataFrame is recognised by its shape (``columns``, ``dtypes``,
``iloc``) and read through its own methods, so the client works without pandas installed.

A DataFrame column's kind comes from its dtype: numbers (``int``, ``uint``, ``float``, their
nullable forms) are ``numeric``; everything else (``object``, ``category``, ``string``,
``bool``, dates) is ``categorical``. ``column_kinds=`` overrides per column. A missing cell
(NaN, None, ``pd.NA``, NaT) is an empty CSV cell on upload and ``null`` in predict records.

Uploads go as a CSV (streamed and size-limited like any CSV file, not the 8 MiB JSON limit)
with ``column_kinds`` for every feature column. A category is written as the text the server
makes of the same value in a predict record (``category_text``), so a DataFrame uploaded and a
DataFrame predicted name the same categories: ``True`` → ``true``, ``3.0`` → ``3``, strings
without surrounding spaces (a CSV cell is read stripped).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from typing import Any

KINDS = ("numeric", "categorical")


def is_dataframe(value: Any) -> bool:
    return all(hasattr(value, name) for name in ("columns", "dtypes", "iloc", "isna"))


def is_records(value: Any) -> bool:
    """A non-empty list (or tuple) of dicts: rows by column name."""
    return isinstance(value, list | tuple) and bool(value) and isinstance(value[0], dict)


def dtype_kind(dtype: Any) -> str:
    """``numeric`` for integer, unsigned and float dtypes, ``categorical`` for the rest."""
    return "numeric" if getattr(dtype, "kind", "O") in "iuf" else "categorical"


def number_text(value: float) -> str:
    """A number as a category, as the server writes it: ``3.0`` → ``3``, others by ``repr``."""
    if math.isfinite(value) and float(value).is_integer() and abs(value) < 2**63:
        return str(int(value))
    return repr(float(value))


def category_text(value: Any) -> str | None:
    """A categorical cell's text (``None`` when missing): what the server makes of it."""
    value = plain(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return number_text(value)
    return str(value).strip() or None


def plain(value: Any) -> Any:
    """A cell as a JSON value: NumPy scalars as Python ones, NaN / NA / NaT as ``None``."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            value = value.item()
        except (TypeError, ValueError):
            pass
    if isinstance(value, float) and math.isnan(value):
        return None
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    return value


def frame_columns(frame: Any) -> list[tuple[str, str, list[Any]]]:
    """``(name, kind, cells)`` per column: numeric cells as numbers, categorical ones as
    ``category_text``; ``None`` for a missing cell."""
    columns = []
    for position, name in enumerate(frame.columns):
        series = frame.iloc[:, position]
        kind = dtype_kind(series.dtype)
        missing = series.isna().tolist()
        values = series.tolist()
        if kind == "numeric":
            cells = [None if gone else plain(v) for v, gone in zip(values, missing, strict=True)]
        else:
            cells = [None if gone else category_text(v)
                     for v, gone in zip(values, missing, strict=True)]
        columns.append((str(name), kind, cells))
    return columns


def frame_records(frame: Any) -> list[dict[str, Any]]:
    """The DataFrame as predict records ``[{column: value}, …]`` (the index is not sent)."""
    columns = frame_columns(frame)
    n_rows = len(columns[0][2]) if columns else 0
    return [{name: cells[i] for name, _, cells in columns} for i in range(n_rows)]


def clean_records(records: Sequence[Any]) -> list[Any]:
    """Records with every value a JSON value (NumPy scalars unwrapped, NaN → ``null``)."""
    return [{str(k): plain(v) for k, v in r.items()} if isinstance(r, dict) else r
            for r in records]


def predict_inputs(inputs: Any) -> Any:
    """``inputs`` of ``POST /v1/models/{id}/predict``: records for a DataFrame or records,
    positional rows for arrays and lists of rows."""
    if is_dataframe(inputs):
        return frame_records(inputs)
    if is_records(inputs):
        return clean_records(inputs)
    from .uploads import to_list

    return to_list(inputs)


def check_kinds(column_kinds: dict[str, str] | None) -> dict[str, str]:
    kinds = dict(column_kinds or {})
    for name, kind in kinds.items():
        if kind not in KINDS:
            raise ValueError(f"column_kinds[{name!r}] is {kind!r}; a kind is numeric or "
                             "categorical")
    return kinds


def _target_cell(value: Any, kind: str) -> str:
    value = plain(value)
    if value is None:
        return ""
    if kind == "numeric":
        return repr(value) if isinstance(value, float) else str(value)  # 1.0 stays a value
    return category_text(value) or ""


def frame_upload(frame: Any, targets: Any, *, name: str | None, target: str | list[str] | None,
                 column_kinds: dict[str, str] | None) -> dict[str, Any]:
    """The multipart request (a CSV and its form fields) that uploads ``frame``.

    ``target`` names target columns of ``frame``; or ``targets`` (a Series or a list) is
    added as a column named after it (``targets.name``, else ``target``)."""
    if targets is not None and target is not None:
        raise ValueError("give either targets (values) or target= (column names), not both")
    columns = frame_columns(frame)
    names = [n for n, _, _ in columns]
    if len(set(names)) != len(names):
        raise ValueError(f"the DataFrame has repeated column names: {names}")
    if targets is not None:
        target = _add_targets(columns, targets)
    wanted = [target] if isinstance(target, str) else list(target or [])
    for column in wanted:
        if column not in names and targets is None:
            raise ValueError(f"target column {column!r} is not in the DataFrame: {names}")
    kinds = {n: kind for n, kind, _ in columns if n not in wanted}
    kinds.update(check_kinds(column_kinds))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([n for n, _, _ in columns])
    n_rows = len(columns[0][2]) if columns else 0
    for i in range(n_rows):
        writer.writerow([_target_cell(cells[i], kind) if n in wanted else _cell(cells[i], kind)
                         for n, kind, cells in columns])
    form: dict[str, Any] = {"column_kinds": json.dumps(kinds)}
    if name is not None:
        form["name"] = name
    if wanted:
        form["target"] = wanted
    return {"files": {"file": ("dataframe.csv", buffer.getvalue().encode(), "text/csv")},
            "data": form}


def _cell(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "numeric" and isinstance(value, float):
        return number_text(value)
    return str(value)


def _add_targets(columns: list[tuple[str, str, list[Any]]], targets: Any) -> str:
    name = getattr(targets, "name", None)
    name = "target" if name is None else str(name)
    if name in {n for n, _, _ in columns}:
        raise ValueError(f"the targets' name {name!r} is also a feature column; rename one")
    values = targets.tolist() if hasattr(targets, "tolist") else list(targets)
    values = [plain(v) for v in values]
    numbers = [v for v in values if v is not None]
    kind = ("numeric" if numbers and all(isinstance(v, int | float) and not isinstance(v, bool)
                                         for v in numbers) else "categorical")
    columns.append((name, kind, values))
    return name


def records_upload(records: Sequence[Any], targets: Any, *, name: str | None,
                   target: str | list[str] | None,
                   column_kinds: dict[str, str] | None) -> dict[str, Any]:
    """The JSON records request: ``{"records", "target", "name", "column_kinds"}``."""
    if targets is not None:
        raise ValueError("records carry their targets: name the target column(s) with target=")
    body: dict[str, Any] = {"records": clean_records(records)}
    if target is not None:
        body["target"] = target if isinstance(target, str) else list(target)
    if name is not None:
        body["name"] = name
    if column_kinds:
        body["column_kinds"] = check_kinds(column_kinds)
    return {"json": body}
