"""Byte formats shared by the API and the worker: stored datasets and model weights.

A dataset is stored as an uncompressed ``.npz`` (every member a raw ``.npy``, so writing and
reading it run at disk speed) of its raw columns (format 3): the numeric columns side by side as
``num`` (n × d_num) in the dtype they were uploaded in (``uint8``, ``int*``, ``float32``, … an
``.npz``'s ``X`` as it came; float64 from CSV and JSON; NaN where a float cell is missing), the
categorical ones as ``cat`` (int32 codes, n × d_cat, -1 where missing) with each one's
categories as ``cat<j>`` (strings), a JSON member ``meta`` naming every column, its kind and its
place, and, when it has targets, ``y``: class indices (int64, n) into the dataset's sorted
``classes`` for labels, or float64 (n × k) for values. Readers convert ``num`` to float64 (the
training pipeline's input) as they load it. Format 2 is the same layout, deflated, ``num``
always float64; format 1 (``X`` float64 n × d and ``y``) is older still; both are still read.

A model's weights are the ``.npz`` that ``GET /v1/models/{id}/weights`` serves: ``W0, b0, W1,
b1, …`` (W of shape fan_in × fan_out, in the dtype it was trained in) plus the fitted
preprocessing's arrays: ``mean`` and ``scale`` (float64) when inputs were standardized
(``(x - mean) / scale`` before the network), ``target_mean`` and ``target_scale`` (float64) when
regression targets were (``outputs · target_scale + target_mean`` after it), and the fitted column
steps (``pre_meta``, ``pre_fill``, ``pre_indicated``: ``worker.pipeline.preprocess``) for a model
trained on named columns. ``weights_sha256`` is the SHA-256 of the raw bytes of ``W0, b0, W1, b1,
…`` concatenated in that order (docs/api.md).
"""

from __future__ import annotations

import hashlib
import io
import json
import mmap
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from worker.pipeline.table import Column, Table

DATASET_FORMAT = 3
# What a stored ``num`` may hold: the numeric dtypes an upload keeps (others become float64).
STORED_DTYPES = frozenset("u1 u2 u4 u8 i1 i2 i4 i8 f2 f4 f8".split())


def encode_table(table: Table, y: np.ndarray | None) -> bytes:
    """The stored bytes of a dataset's columns and targets (format 3)."""
    buffer = io.BytesIO()
    write_table(table, y, buffer)
    return buffer.getvalue()


def write_table(table: Table, y: np.ndarray | None, out: IO[bytes]) -> None:
    """Write the stored form of a dataset (format 3) to the binary file ``out``."""
    numeric = [c for c in table.columns if c.kind == "numeric"]
    categorical = [c for c in table.columns if c.kind == "categorical"]
    arrays: dict[str, np.ndarray] = {}
    if numeric:
        arrays["num"] = (table.block if table.numeric and table.block is not None
                         else np.column_stack([c.values for c in numeric]))
    if categorical:
        arrays["cat"] = np.column_stack([c.values for c in categorical]).astype(np.int32)
        for j, column in enumerate(categorical):
            arrays[f"cat{j}"] = np.array(column.categories or (), dtype=str)
    places = {"numeric": iter(range(len(numeric))), "categorical": iter(range(len(categorical)))}
    meta = {"format": DATASET_FORMAT, "columns": [
        {"name": c.name, "kind": c.kind, "index": next(places[c.kind])} for c in table.columns]}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    if y is not None:
        arrays["y"] = np.ascontiguousarray(y)
    write_npz(arrays, out, zipfile.ZIP_STORED)


def npz_bytes(arrays: dict[str, np.ndarray], chunk: int = 1 << 20) -> bytes:
    """A compressed ``.npz`` of ``arrays`` (what ``np.savez_compressed`` writes)."""
    buffer = io.BytesIO()
    write_npz(arrays, buffer, zipfile.ZIP_DEFLATED, chunk)
    return buffer.getvalue()


def write_npz(arrays: dict[str, np.ndarray], out: IO[bytes], compression: int,
              chunk: int = 8 << 20) -> None:
    """An ``.npz`` of ``arrays`` written to ``out``, each array streamed into the archive
    ``chunk`` bytes at a time rather than copied whole first."""
    with zipfile.ZipFile(out, "w", compression, allowZip64=True) as archive:
        for name, value in arrays.items():
            array = np.ascontiguousarray(value)
            header = np.lib.format.header_data_from_array_1_0(array)
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                try:
                    np.lib.format.write_array_header_1_0(member, header)
                except ValueError:  # a header over 64 KiB
                    np.lib.format.write_array_header_2_0(member, header)
                data = array.reshape(-1).view(np.uint8)
                for start in range(0, data.size, chunk):
                    member.write(data[start : start + chunk].data)
                    release_pages(array)


def encode_dataset(X: np.ndarray, y: np.ndarray | None,
                   names: Sequence[str] | None = None) -> bytes:
    """A numeric matrix ``X`` (n × d) and its targets as stored bytes."""
    return encode_table(Table.from_matrix(X, names), y)


Stored = bytes | str | Path | IO[bytes]


def release_pages(array: np.ndarray) -> None:
    """Drop the pages of the file ``array`` maps (an upload read through a memory map) from
    this process's resident memory: they stay in the page cache and come back on the next read,
    so a pass over a mapped upload of any size keeps the process's RSS bounded."""
    base: Any = array
    while base is not None and not isinstance(base, mmap.mmap):
        base = getattr(base, "_mmap", None) or getattr(base, "base", None)
    if isinstance(base, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
        try:
            base.madvise(mmap.MADV_DONTNEED)
        except (OSError, ValueError):
            pass


def decode_table(content: Stored) -> tuple[Table, np.ndarray | None]:
    """``(columns, y)`` of stored bytes (or the file holding them), numeric columns as float64
    whatever their stored dtype; ``y`` is None for a dataset without targets."""
    source = io.BytesIO(content) if isinstance(content, bytes | bytearray | memoryview) else content
    with np.load(source, allow_pickle=False) as npz:
        y = npz["y"] if "y" in npz.files else None
        if "meta" not in npz.files:  # format 1
            return Table.from_matrix(npz["X"]), y
        meta: dict[str, Any] = json.loads(npz["meta"].tobytes().decode())
        numeric = as_float64(npz["num"]) if "num" in npz.files else None
        codes = npz["cat"] if "cat" in npz.files else None
        columns = []
        for entry in meta["columns"]:
            i = entry["index"]
            if entry["kind"] == "numeric":
                assert numeric is not None
                columns.append(Column(entry["name"], "numeric", numeric[:, i]))
            else:
                assert codes is not None
                categories = tuple(str(v) for v in npz[f"cat{i}"].tolist())
                columns.append(Column(entry["name"], "categorical", codes[:, i], categories))
    in_order = numeric is not None and codes is None
    return Table(tuple(columns), numeric if in_order else None), y


def decode_targets(stored: Stored) -> np.ndarray | None:
    """Only the stored ``y`` (None without targets)."""
    source = io.BytesIO(stored) if isinstance(stored, bytes | bytearray | memoryview) else stored
    with np.load(source, allow_pickle=False) as npz:
        return npz["y"] if "y" in npz.files else None


def as_float64(stored: np.ndarray) -> np.ndarray:
    """A stored numeric block as the pipeline takes it: float64, NaN where missing (a stored
    integer column has no missing cells)."""
    return stored if stored.dtype == np.float64 else stored.astype(np.float64)


def stored_dtype(stored: Stored) -> str | None:
    """The dtype of a stored dataset's numeric block (``"uint8"``, …), None without one."""
    source = io.BytesIO(stored) if isinstance(stored, bytes | bytearray | memoryview) else stored
    with zipfile.ZipFile(source) as archive:
        name = "num.npy" if "num.npy" in archive.namelist() else "X.npy"
        if name not in archive.namelist():
            return None
        with archive.open(name) as member:
            version = np.lib.format.read_magic(member)
            reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                      else np.lib.format.read_array_header_2_0)
            _, _, dtype = reader(member)
    return str(dtype)


def decode_dataset(content: Stored) -> tuple[np.ndarray, np.ndarray | None]:
    """``(X, y)`` of a dataset whose columns are all numeric; ``y`` is None without targets."""
    table, y = decode_table(content)
    return table.matrix(), y


def weights_sha256(params: Sequence[np.ndarray]) -> str:
    digest = hashlib.sha256()
    for array in params:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def encode_weights(
    params: Sequence[np.ndarray],
    fitted: Mapping[str, np.ndarray] | tuple[np.ndarray, np.ndarray] | None,
) -> tuple[bytes, str]:
    """The weights ``.npz`` and its ``weights_sha256``; ``params`` is ``[W0, b0, W1, b1, …]``
    and ``fitted`` the preprocessing's named arrays (or a ``(mean, scale)`` pair)."""
    arrays: dict[str, np.ndarray] = {}
    for i in range(0, len(params), 2):
        arrays[f"W{i // 2}"] = np.ascontiguousarray(params[i])
        arrays[f"b{i // 2}"] = np.ascontiguousarray(params[i + 1])
    if isinstance(fitted, tuple):
        fitted = dict(zip(("mean", "scale"), fitted, strict=True))
    arrays.update(fitted or {})
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue(), weights_sha256(list(params))


def decode_weights(
    content: bytes,
) -> tuple[list[np.ndarray], tuple[np.ndarray, np.ndarray] | None]:
    """``([W0, b0, W1, b1, …], (mean, scale) | None)`` from a weights ``.npz``."""
    params, fitted = decode_weights_file(content)
    return params, (fitted["mean"], fitted["scale"]) if "mean" in fitted else None


def decode_weights_file(content: bytes) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """``([W0, b0, W1, b1, …], {name: array})``: the layers and the preprocessing's arrays."""
    with np.load(io.BytesIO(content), allow_pickle=False) as npz:
        n_layers = sum(1 for name in npz.files if name.startswith("W"))
        layers = {f"{p}{i}" for i in range(n_layers) for p in "Wb"}
        params: list[np.ndarray] = []
        for i in range(n_layers):
            params += [npz[f"W{i}"], npz[f"b{i}"]]
        fitted = {name: npz[name] for name in npz.files if name not in layers}
    return params, fitted
