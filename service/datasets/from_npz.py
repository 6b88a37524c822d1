"""``.npz`` uploads: arrays ``X`` (2-D, numeric) and optionally ``y`` (1-D or 2-D).

Loaded without pickle: object arrays are refused. ``X`` is numeric (NaN = a missing cell;
``column_kinds`` may make columns categorical by their numbers' text). Inference for ``y``:
strings and integers (1-D) are labels, floats are values, a 2-D ``y`` is values (one column
per output) unless ``target_kind="labels"`` and it has a single column. Booleans count as the
integers 0/1.
Rows are numbered from 0, as they are indexed in the arrays.
"""

from __future__ import annotations

import io
import math
import os
import struct
import tokenize
import zipfile
from typing import Any, BinaryIO

import numpy as np

from service import artifacts
from service.errors import InvalidInput

from .canonical import (
    ParsedDataset,
    build,
    check_target_kind,
    check_texts,
    first_non_finite,
    invalid,
)
from .columns import Limits

# What numpy raises for a torn or garbled .npy (a header that is not a dict literal goes
# through ast and then tokenize, whose errors are not ValueErrors): a 422, never a 500.
HEADER_ERRORS = (OSError, ValueError, EOFError, SyntaxError, TypeError, tokenize.TokenError)

_LOC: list[str | int] = ["body", "file"]


def parse_npz(
    data: bytes | BinaryIO, *, target_kind: str | None = None, max_array_bytes: int | None = None,
    max_columns: int | None = None, kinds: dict[str, str] | None = None,
    limits: Limits | None = None,
) -> ParsedDataset:
    """``max_array_bytes`` bounds the size of ``X`` and ``y`` once decompressed, in their
    dtype, checked from the zip directory and each array's header before anything
    is decompressed: a small file that expands to gigabytes (a zip bomb) is refused unread.
    ``max_columns`` bounds X's columns."""
    check_target_kind(target_kind, ["body", "target_kind"])
    source = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
    if source.seek(0, io.SEEK_END) == 0:
        raise invalid(_LOC, "the file is empty")
    source.seek(0)
    try:
        npz = np.load(source, allow_pickle=False)
    except (*HEADER_ERRORS, zipfile.BadZipFile) as exc:
        raise invalid(_LOC, f"the file is not a valid .npz ({exc})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise invalid(_LOC, "the file is a single .npy array; upload an .npz holding X and y")
    with npz:
        files = npz.files
        if "X" not in files:
            found = ", ".join(files) or "none"
            raise invalid(
                _LOC,
                f"the .npz has no array 'X' (arrays found: {found}); save it "
                "with np.savez(file, X=features, y=targets)",
            )
        for name in ("X", "y"):
            if name in files and max_array_bytes is not None and npz.zip is not None:
                _check_size(npz.zip, name, max_array_bytes, max_columns)
        X_raw = _mapped(source, npz.zip, "X") if npz.zip is not None else None
        if X_raw is None:
            X_raw = _load(npz, "X")
        y_raw = _load(npz, "y") if "y" in files else None
    X = _features(X_raw)
    if X.ndim != 2:
        raise invalid(_LOC, f"X must be 2-D (rows × features); it has shape {X_raw.shape}")
    if y_raw is None:
        if target_kind is not None:
            raise invalid(["body", "target_kind"], "target_kind is set but the .npz has no y")
        return build(X, loc=_LOC, kinds=kinds, limits=limits)
    if y_raw.ndim not in (1, 2) or y_raw.shape[0] != X.shape[0]:
        raise invalid(
            _LOC,
            f"y must be 1-D or 2-D with one entry per row of X ({X.shape[0]});"
            f" it has shape {y_raw.shape}",
        )
    labels, values = _targets(y_raw, target_kind)
    return build(X, labels=labels, values=values, loc=_LOC, kinds=kinds, limits=limits)


def _check_size(archive: zipfile.ZipFile, name: str, limit: int, max_columns: int | None) -> None:
    """Refuse ``name`` when its declared size (the zip entry's, or its header's shape in its
    dtype) is over ``limit``, or X has more than ``max_columns`` columns."""
    info = archive.getinfo(name + ".npy")
    try:
        with archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                      else np.lib.format.read_array_header_2_0)
            shape, _, dtype = reader(member)
    except (*HEADER_ERRORS, zipfile.BadZipFile) as exc:
        raise invalid(_LOC, f"array {name!r} cannot be read: {exc}") from None
    stored = np.dtype(dtype).itemsize * math.prod(shape)
    for size in (info.file_size, stored):
        if size > limit:
            raise invalid(_LOC, f"array {name!r} is {size:,} bytes uncompressed; the limit is "
                                f"{limit:,} (DESCENT_MAX_DATASET_ARRAY_BYTES)")
    if name == "X" and max_columns is not None and len(shape) == 2 and shape[1] > max_columns:
        raise invalid(_LOC, f"X has {shape[1]:,} columns; the limit is {max_columns:,} "
                            "(DESCENT_MAX_DATASET_COLUMNS)")


def _mapped(source: Any, archive: zipfile.ZipFile, name: str) -> np.ndarray | None:
    """Array ``name`` as a read-only memory map of the file, when the file is a real one and
    the array is stored uncompressed (``np.savez``; what a large upload should be): parsing,
    hashing and storing then read it a slice at a time and never hold it whole. None
    otherwise (it is loaded)."""
    info = archive.getinfo(name + ".npy")
    try:
        descriptor = source.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None
    if info.compress_type != zipfile.ZIP_STORED or descriptor < 0:
        return None
    try:
        source.seek(info.header_offset)
        local = source.read(30)
        if local[:4] != b"PK\x03\x04":
            return None
        name_length, extra_length = struct.unpack("<HH", local[26:30])
        source.seek(info.header_offset + 30 + name_length + extra_length)
        version = np.lib.format.read_magic(source)
        reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                  else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = reader(source)
        offset = source.tell()
        if dtype.hasobject or offset + dtype.itemsize * math.prod(shape) > os.fstat(
                descriptor).st_size:
            return None
        return np.memmap(source, dtype=dtype, mode="r", offset=offset, shape=shape,
                         order="F" if fortran else "C")
    except (*HEADER_ERRORS, struct.error):
        return None


def _load(npz: Any, name: str) -> np.ndarray:
    try:
        array: np.ndarray = npz[name]
    except ValueError as exc:
        if "pickle" in str(exc):
            raise invalid(
                _LOC,
                f"array {name!r} is an object array; save numbers (or strings "
                "for labels) as plain numpy dtypes, without pickle",
            ) from None
        raise invalid(_LOC, f"array {name!r} cannot be read: {exc}") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise invalid(_LOC, f"array {name!r} cannot be read: {exc}") from None
    return array


def _features(X: np.ndarray, block_bytes: int = 4 << 20) -> np.ndarray:
    """``X`` checked, in the dtype it came in (stored so, ``service.artifacts``): numbers, and
    floats finite or NaN (a missing cell). Booleans become ``uint8``; other dtypes float64.
    Checked a slice of rows at a time: no float64 copy of the whole array."""
    if X.dtype.kind not in "biuf":
        raise invalid(_LOC, f"X must hold numbers; its dtype is {X.dtype}")
    if X.dtype.kind == "b":
        return X.view(np.uint8)
    if X.dtype.str[1:] not in artifacts.STORED_DTYPES or X.dtype.byteorder == ">":
        return _numeric(X, "X", missing=True)
    if X.ndim != 2 or X.dtype.kind != "f":
        return X
    rows = max(1, block_bytes // max(1, X.shape[1] * X.dtype.itemsize))
    for start in range(0, X.shape[0], rows):
        infinite = np.isinf(X[start : start + rows])
        artifacts.release_pages(X)
        if infinite.any():
            row, col = np.argwhere(infinite)[0]
            bad = (int(row) + start, int(col))
            raise invalid(_LOC, f"X[{bad[0]}, {bad[1]}] is {X[bad]}, not a finite number")
    return X


def _numeric(array: np.ndarray, name: str, missing: bool = False) -> np.ndarray:
    """A finite float64 copy of a numeric array (bool/int/float); NaN stays when ``missing``
    (a missing cell)."""
    if array.dtype.kind not in "biuf":
        raise invalid(_LOC, f"{name} must hold numbers; its dtype is {array.dtype}")
    result = array.astype(np.float64, copy=False)
    if result.ndim == 2:
        bad = first_non_finite(np.nan_to_num(result, nan=0.0, posinf=np.inf, neginf=-np.inf)
                               if missing else result)
        if bad is not None:
            raise invalid(_LOC, f"{name}[{bad[0]}, {bad[1]}] is {array[bad]}, not a finite number")
    elif result.ndim == 1 and not np.isfinite(result).all():
        i = int(np.flatnonzero(~np.isfinite(result))[0])
        raise invalid(_LOC, f"{name}[{i}] is {array[i]}, not a finite number")
    return result


def _targets(y: np.ndarray, target_kind: str | None) -> tuple[Any, np.ndarray | None]:
    kind = y.dtype.kind
    if kind == "S":
        try:
            y = np.char.decode(y, "utf-8")
        except UnicodeDecodeError:
            raise invalid(_LOC, "y holds bytes that are not UTF-8 text") from None
        kind = "U"
    if kind == "U":
        if y.ndim != 1:
            raise invalid(_LOC, "string labels must be a 1-D y")
        if target_kind == "values":
            raise invalid(
                ["body", "target_kind"],
                f"target_kind 'values' needs a numeric y; y holds strings ({y[0]!r}, …)",
            )
        labels = [str(v) for v in y.tolist()]
        empty = next((i for i, v in enumerate(labels) if not v), None)
        if empty is not None:
            raise invalid(_LOC, f"y[{empty}] is an empty string; every row needs a label")
        try:
            check_texts(labels, _LOC, "y")
        except InvalidInput as exc:  # name y[i], keep the loc the file's
            raise invalid(_LOC, exc.detail) from None
        return labels, None
    values = _numeric(y, "y")
    if values.ndim == 2:
        if target_kind == "labels" and values.shape[1] == 1:
            values, y = values[:, 0], y[:, 0]
        elif target_kind == "labels":
            raise invalid(
                ["body", "target_kind"],
                f"labels need a 1-D y (one label per row); y has {values.shape[1]} columns",
            )
        else:
            return None, values
    integral = kind in "biu"
    if target_kind == "labels" or (target_kind is None and integral):
        return (y.astype(np.int64) if integral else values.tolist()), None
    return None, values.reshape(-1, 1)
