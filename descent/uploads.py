"""Building the request of ``POST /v1/datasets`` from arrays, records, a DataFrame (``tables``),
a CSV file or an ``.npz`` file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import tables


def to_list(values: Any) -> Any:
    """Arrays (NumPy or anything with ``tolist``) and sequences as plain JSON lists."""
    if hasattr(values, "tolist"):
        return values.tolist()
    if isinstance(values, list | tuple):
        return [to_list(v) for v in values]
    return values


def dataset_request(
    data: Any,
    targets: Any = None,
    *,
    name: str | None = None,
    target: str | list[str] | None = None,
    target_kind: str | None = None,
    column_kinds: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The ``httpx`` keyword arguments (``json=`` or ``files=``/``data=``) for one upload.

    ``data`` is a file path, a pandas DataFrame (sent as a CSV with its columns' kinds), a list
    of records (the JSON records form) or arrays / lists of rows (the ``features`` matrix)."""
    if target_kind not in (None, "labels", "values"):
        raise ValueError(f"target_kind must be 'labels' or 'values', not {target_kind!r}")
    if tables.is_dataframe(data):
        return _with_target_kind(tables.frame_upload(data, targets, name=name, target=target,
                                                     column_kinds=column_kinds), target_kind)
    if tables.is_records(data):
        return _with_target_kind(tables.records_upload(data, targets, name=name, target=target,
                                                       column_kinds=column_kinds), target_kind)
    kinds = tables.check_kinds(column_kinds)
    if isinstance(data, str | Path):
        path = Path(data)
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".npz", ".npy"):
            raise ValueError(f"{path}: expected a .csv, .npz or .npy file, got "
                             f"{suffix or 'no suffix'}")
        if targets is not None:
            raise ValueError("targets come from the file: use target= to name CSV target columns")
        media = "text/csv" if suffix == ".csv" else "application/octet-stream"
        form: dict[str, Any] = {}
        if name is not None:
            form["name"] = name
        if target_kind is not None:
            form["target_kind"] = target_kind
        if target is not None:
            if suffix == ".npz":
                raise ValueError("an .npz holds its targets as y; target= is for CSV files")
            form["target"] = [target] if isinstance(target, str) else list(target)
        if kinds:
            form["column_kinds"] = json.dumps(kinds)
        return {"files": {"file": (path.name, path.read_bytes(), media)}, "data": form}
    if target is not None:
        raise ValueError("target= names CSV columns; pass arrays' targets as the second argument")
    body: dict[str, Any] = {"features": to_list(data)}
    if targets is not None:
        body["targets"] = to_list(targets)
    if name is not None:
        body["name"] = name
    if target_kind is not None:
        body["target_kind"] = target_kind
    if kinds:
        body["column_kinds"] = kinds
    return {"json": body}


def complete_fields(
    path: Path, targets: Any = None, *, name: str | None = None,
    target: str | list[str] | None = None, target_kind: str | None = None,
    column_kinds: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The body of ``POST /v1/uploads/{id}/complete`` for the file ``path``."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".npz", ".npy"):
        raise ValueError(f"{path}: expected a .csv, .npz or .npy file, got {suffix or 'no suffix'}")
    if targets is not None:
        raise ValueError("targets come from the file: use target= to name CSV target columns")
    if target_kind not in (None, "labels", "values"):
        raise ValueError(f"target_kind must be 'labels' or 'values', not {target_kind!r}")
    if target is not None and suffix == ".npz":
        raise ValueError("an .npz holds its targets as y; target= is for CSV files")
    fields: dict[str, Any] = {"format": suffix[1:]}
    if name is not None:
        fields["name"] = name
    if target is not None:
        fields["target"] = [target] if isinstance(target, str) else list(target)
    if target_kind is not None:
        fields["target_kind"] = target_kind
    kinds = tables.check_kinds(column_kinds)
    if kinds:
        fields["column_kinds"] = kinds
    return fields


def _with_target_kind(request: dict[str, Any], target_kind: str | None) -> dict[str, Any]:
    """``request`` (JSON or multipart) with the ``target_kind`` field when one is given."""
    if target_kind is not None:
        request["json" if "json" in request else "data"]["target_kind"] = target_kind
    return request
