"""``.npy`` uploads: one array, read without pickle (an object array is refused).

- a 2-D numeric array: its columns are ``x0, x1, …``; ``target`` may name some of them (the
  targets), the others are the features, kept in the array's dtype;
- a structured array (``np.save`` of a record array): its fields are the columns, by name —
  numeric fields numeric, string fields categorical; ``target`` names the target field(s).

Without ``target`` every column is a feature (a dataset for predictions). A file on disk whose
data is plain (not Fortran-ordered) is read through a memory map, never whole.
"""

from __future__ import annotations

import io
import os
from typing import Any, BinaryIO

import numpy as np

from worker.pipeline import Column, Table

from .canonical import ParsedDataset, build, check_target_kind, invalid
from .columns import Limits, categorical_column
from .from_npz import HEADER_ERRORS, _features, _targets

_LOC: list[str | int] = ["body", "file"]


def parse_npy(
    data: bytes | BinaryIO, *, targets: list[str] | None = None, target_kind: str | None = None,
    max_array_bytes: int | None = None, max_columns: int | None = None,
    kinds: dict[str, str] | None = None, limits: Limits | None = None,
) -> ParsedDataset:
    check_target_kind(target_kind, ["body", "target_kind"])
    source = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
    array = _read(source, max_array_bytes)
    if array.dtype.names:
        columns = {name: array[name] for name in array.dtype.names}
    elif array.ndim == 2:
        columns = {f"x{j}": array[:, j] for j in range(array.shape[1])}
    else:
        raise invalid(_LOC, f"the array must be 2-D (rows × columns) or structured (named "
                            f"fields); it has shape {array.shape}")
    if max_columns is not None and len(columns) > max_columns:
        raise invalid(_LOC, f"the array has {len(columns):,} columns; the limit is "
                            f"{max_columns:,} (DESCENT_MAX_DATASET_COLUMNS)")
    targets = targets or []
    missing = [t for t in targets if t not in columns]
    if missing:
        raise invalid(["body", "target"], f"no column {missing[0]!r} in the array (columns: "
                                          f"{', '.join(list(columns)[:20])})")
    names = [n for n in columns if n not in targets]
    if not names:
        raise invalid(_LOC, "the dataset has no feature columns; at least 1 is needed")
    labels, values = _target_columns([columns[t] for t in targets], target_kind)
    if array.dtype.names is None and not targets:
        features: Any = _features(array)  # the whole matrix, as an .npz's X
        feature_names = None
    elif array.dtype.names is None:
        features = _features(np.ascontiguousarray(array[:, [int(n[1:]) for n in names]]))
        feature_names = names
    else:
        features, feature_names = _table(columns, names), names
    return build(features, labels=labels, values=values, feature_names=feature_names,
                 target_names=targets or None, loc=_LOC, kinds=kinds, limits=limits)


def _read(source: BinaryIO, max_array_bytes: int | None) -> np.ndarray:
    source.seek(0)
    try:
        version = np.lib.format.read_magic(source)
        reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                  else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = reader(source)
    except HEADER_ERRORS as exc:
        raise invalid(_LOC, f"the file is not a valid .npy ({exc})") from None
    if dtype.hasobject:
        raise invalid(_LOC, "the array holds Python objects (it needs pickle, which is never "
                            "read); save numbers and strings as plain numpy dtypes")
    size = dtype.itemsize * int(np.prod(shape))
    if max_array_bytes is not None and size > max_array_bytes:
        raise invalid(_LOC, f"the array is {size:,} bytes; the limit is {max_array_bytes:,} "
                            "(DESCENT_MAX_DATASET_ARRAY_BYTES)")
    offset = source.tell()
    try:
        descriptor = source.fileno()
        mappable = not fortran and offset + size <= os.fstat(descriptor).st_size
    except (AttributeError, OSError, io.UnsupportedOperation):
        mappable = False
    if mappable and size:
        return np.memmap(source, dtype=dtype, mode="r", offset=offset, shape=shape)
    source.seek(0)
    try:
        array: np.ndarray = np.load(source, allow_pickle=False)
    except HEADER_ERRORS as exc:
        raise invalid(_LOC, f"the file is not a valid .npy ({exc})") from None
    return array


def _target_columns(found: list[np.ndarray], target_kind: str | None) -> tuple[Any, Any]:
    if not found:
        if target_kind is not None:
            raise invalid(["body", "target_kind"], "target_kind is set but no target is named")
        return None, None
    if len(found) == 1:
        return _targets(np.asarray(found[0]), target_kind)
    if any(column.dtype.kind not in "biuf" for column in found):
        raise invalid(["body", "target"], "several target columns must all be numbers")
    return _targets(np.column_stack(found).astype(np.float64), target_kind)


def _table(columns: dict[str, np.ndarray], names: list[str]) -> Table:
    """The feature fields of a structured array: numbers numeric (float64), strings
    categorical."""
    out: list[Column] = []
    for name in names:
        values = columns[name]
        if values.dtype.kind in "biuf":
            numbers = np.asarray(values, dtype=np.float64)
            if np.isinf(numbers).any():
                row = int(np.flatnonzero(np.isinf(numbers))[0])
                raise invalid(_LOC, f"row {row}, column {name!r} is {numbers[row]}, not a "
                                    "finite number")
            out.append(Column(name, "numeric", numbers))
        elif values.dtype.kind in "US":
            cells = values.astype(str).tolist()
            out.append(categorical_column(name, [c if c else None for c in cells]))
        else:
            raise invalid(_LOC, f"field {name!r} has dtype {values.dtype}: use numbers or "
                                "strings")
    return Table(tuple(out))
