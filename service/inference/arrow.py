"""Predict inputs and answers as Apache Arrow IPC streams (``application/vnd.apache.arrow.stream``).

A request body is one Arrow IPC stream (``pyarrow.ipc.new_stream``, uncompressed). Its columns
carry names, so for a model trained on named columns they are taken by name, in any order, as
records are (a missing column is a 422 naming it; other columns are ignored and listed);
a model trained before columns had names takes the stream's columns by position, all numeric.
Numeric columns are any integer or float type (null = a missing cell; a column of the null type,
as pandas writes an all-None one, is all missing); categorical ones strings,
dictionary-encoded strings (pandas ``category``) or numbers, read as JSON cells are (surrounding
spaces stripped, ``""`` missing, numbers by their text).

The answer (``Accept: application/vnd.apache.arrow.stream``) is one record batch: ``prediction``
(class labels, numbers, a fixed-size list per row for several regression targets, a list of
labels per row for multilabel) and, for classification and multilabel, ``probabilities``
(a fixed-size list of float64 per row, in the order of the schema metadata's ``classes``).
The metadata also holds ``prediction_id`` (when stored) and ``ignored_columns`` (JSON).

``pyarrow`` is an optional dependency of the server (``pip install 'descent[arrow]'``); without
it these bodies and answers are a 415 that says so (`available`).
"""

from __future__ import annotations

import json
import struct
from collections import Counter
from typing import Any

import numpy as np

from service.errors import InvalidInput, UnsupportedMediaType, field_error
from service.inference.npy import answer_array
from service.inference.records import column_from_cells
from worker.pipeline import Column, Table

MEDIA = "application/vnd.apache.arrow.stream"
_LOC: list[str | int] = ["body"]
_RECORD_BATCH, _DICTIONARY_BATCH = 3, 2  # Message.header_type (Arrow's Message.fbs)

try:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.ipc  # noqa: F401  (pa.ipc)
except ImportError:  # the optional extra is not installed
    pa = None


def available() -> None:
    """``UnsupportedMediaType`` (415) unless pyarrow is installed."""
    if pa is None:
        raise UnsupportedMediaType(
            f"This server cannot read or write {MEDIA}: pyarrow is not installed (pip install "
            "'descent[arrow]'). Send application/json or application/x-npy instead.")


def read_arrow(loaded: Any, body: bytes, *, max_rows: int) -> tuple[np.ndarray | Table,
                                                                     list[str] | None]:
    """``(X, ignored_columns)`` from an Arrow stream: ``X`` an ``(n, d)`` float64 array for an
    all-numeric model, else a ``Table`` of the model's columns (as `records.read_inputs`)."""
    available()
    buffer = pa.py_buffer(body)
    try:
        _refuse_compression_and_bombs(buffer, max_rows)
        table = pa.ipc.open_stream(buffer).read_all()
        # The reader trusts the lengths and offsets a message declares: a batch of 5,000 rows
        # over a buffer of 3 (or an offset or dictionary index past its data) would be read
        # beyond the body. Full validation checks every buffer, offset and index against them.
        table.validate(full=True)
    except (pa.ArrowException, OSError, struct.error, IndexError) as exc:  # a torn message:
        # pyarrow's ArrowIOError, an OSError
        raise _invalid(f"the body is not an Arrow IPC stream ({str(exc)[:200]}); send "
                       "pyarrow.ipc.new_stream's output") from None
    if table.num_rows == 0:
        raise _invalid("the Arrow stream has no rows")
    columns: list[tuple[str, str]] | None = loaded.columns
    if columns is None:  # a model without column names: by position, numbers only
        if table.num_columns != loaded.n_features:
            raise _invalid(f"the Arrow stream has {table.num_columns} columns; this model "
                           f"takes {loaded.n_features} features (by position)")
        return _matrix([_numbers(column, name)
                        for column, name in zip(table.columns, table.column_names,
                                                strict=True)]), None
    names = Counter(table.column_names)
    for name, _ in columns:
        if name not in names:
            raise _invalid(f"the Arrow stream has no column {name!r}; the model takes "
                           f"{', '.join(repr(n) for n, _ in columns[:20])}")
        if names[name] > 1:  # which one would the model take?
            raise _invalid(f"the Arrow stream has {names[name]} columns named {name!r}; "
                           "send each column once")
    wanted = {name for name, _ in columns}
    ignored = [name for name in table.column_names if name not in wanted]
    if all(kind == "numeric" for _, kind in columns):
        return _matrix([_numbers(table.column(name), name) for name, _ in columns]), ignored
    return Table(tuple(_column(table.column(name), name, kind) for name, kind in columns)), ignored


def arrow_bytes(loaded: Any, out: np.ndarray, *, prediction_id: str | None,
                ignored: list[str] | None) -> bytes:
    """The answer for the model's outputs ``out`` ``(n, n_outputs)`` as an Arrow stream."""
    available()
    fields: dict[str, Any] = {}
    metadata: dict[str, str] = {}
    if loaded.task in ("classification", "multilabel"):
        classes = list(loaded.classes or [])
        metadata["classes"] = json.dumps(classes)
        probabilities = pa.FixedSizeListArray.from_arrays(
            pa.array(np.ascontiguousarray(out, np.float64).reshape(-1)), out.shape[1])
        if loaded.task == "classification":
            fields["prediction"] = pa.array(answer_array(loaded, out))
        else:
            fields["prediction"] = pa.array(
                [[classes[j] for j in np.flatnonzero(row).tolist()] for row in out > 0.5],
                type=pa.list_(pa.array(classes).type) if classes else None)
        fields["probabilities"] = probabilities
    else:
        values = np.ascontiguousarray(out, np.float64)
        fields["prediction"] = (pa.array(values[:, 0]) if values.shape[1] == 1 else
                                pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)),
                                                                  values.shape[1]))
    if prediction_id is not None:
        metadata["prediction_id"] = prediction_id
    if ignored is not None:
        metadata["ignored_columns"] = json.dumps(ignored)
    batch = pa.record_batch(list(fields.values()), names=list(fields), metadata=metadata)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return bytes(sink.getvalue())


def _numbers(column: Any, name: str) -> np.ndarray:
    """A numeric column's values (its own dtype when it has no nulls; float64 with NaN for
    null when it has, or is of Arrow's null type)."""
    kind = column.type
    if pa.types.is_null(kind):  # all cells null (pandas' all-None column): all missing
        return np.full(len(column), np.nan)
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        raise _invalid(f"column {name!r} is {kind}; this model takes numbers there "
                       "(integers or floats, null for a missing cell)")
    if column.null_count:
        return np.asarray(pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False),
                          dtype=np.float64)
    return np.asarray(column.to_numpy())


def _matrix(columns: list[np.ndarray]) -> np.ndarray:
    """The columns side by side, ``(n, d)`` float64: written a column at a time into a
    column-major array (contiguous writes), returned as its transpose's view."""
    X = np.empty((len(columns), columns[0].shape[0]), np.float64)
    for j, values in enumerate(columns):
        X[j] = values
    return X.T


def _column(column: Any, name: str, kind: str) -> Column:
    if kind == "numeric":
        return Column(name, "numeric", _numbers(column, name))
    if pa.types.is_dictionary(column.type):
        column = pc.cast(column, column.type.value_type)
    kind_ok = (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
               or pa.types.is_integer(column.type) or pa.types.is_floating(column.type)
               or pa.types.is_boolean(column.type) or pa.types.is_null(column.type))
    if not kind_ok:
        raise _invalid(f"column {name!r} is {column.type}; a category is a string, a number "
                       "or null")
    return column_from_cells(name, "categorical", column.to_pylist(), name, loc=_LOC)


def _refuse_compression_and_bombs(buffer: Any, max_rows: int) -> None:
    """Look at each message's header (Arrow's flatbuffer ``Message``) before any is decoded:
    a compressed body (LZ4/ZSTD) could inflate a few MB into many GB, so it is refused, and a
    batch declaring more rows than a request may hold is refused before it is read."""
    rows = 0
    for message in pa.ipc.MessageReader.open_stream(buffer):
        meta = message.metadata.to_pybytes()
        root = struct.unpack_from("<I", meta, 0)[0]
        header_type = _scalar(meta, root, 1, "<B")
        header = _table_field(meta, root, 2)
        if header is None or header_type not in (_RECORD_BATCH, _DICTIONARY_BATCH):
            continue
        if header_type == _DICTIONARY_BATCH:
            header = _table_field(meta, header, 1)  # DictionaryBatch.data: a RecordBatch
            if header is None:
                continue
        if _field_position(meta, header, 3) is not None:  # RecordBatch.compression
            raise _invalid("compressed Arrow streams are not accepted; write the stream "
                           "without compression (pyarrow's default)")
        length = _scalar(meta, header, 0, "<q") or 0  # RecordBatch.length
        rows += length if header_type == _RECORD_BATCH else 0
        if length > max_rows or rows > max_rows:
            raise _invalid(f"the Arrow stream holds more than {max_rows:,} rows, the limit per "
                           "request (DESCENT_MAX_PREDICT_ROWS)")


def _field_position(buf: bytes, table: int, index: int) -> int | None:
    """Where field ``index`` of the flatbuffer table at ``table`` starts (None: absent)."""
    vtable = table - struct.unpack_from("<i", buf, table)[0]
    size = struct.unpack_from("<H", buf, vtable)[0]
    slot = 4 + 2 * index
    if slot + 2 > size:
        return None
    offset = struct.unpack_from("<H", buf, vtable + slot)[0]
    return table + offset if offset else None


def _scalar(buf: bytes, table: int, index: int, fmt: str) -> int | None:
    at = _field_position(buf, table, index)
    return None if at is None else int(struct.unpack_from(fmt, buf, at)[0])


def _table_field(buf: bytes, table: int, index: int) -> int | None:
    at = _field_position(buf, table, index)
    return None if at is None else at + struct.unpack_from("<I", buf, at)[0]


def _invalid(msg: str) -> InvalidInput:
    return InvalidInput(msg, errors=[field_error(_LOC, msg)])
