"""Large predict requests in binary (docs/api.md "Binary predict"): a NumPy array of
``BINARY_ROWS`` rows or more goes as ``.npy``, a DataFrame that large as an Arrow stream (when
pyarrow is installed), and the answer comes back as Arrow when pyarrow can read it.

JSON spends most of a large request writing and parsing numbers as text (about 20 bytes and a
Python float each); a ``.npy`` or Arrow body is the numbers' own bytes, read in place by the
server. Smaller inputs, lists and records stay JSON: the server's errors name their rows and
cells as docs/api.md shows. NumPy and pyarrow are imported only when such inputs arrive.
"""

from __future__ import annotations

import io
import json
from typing import Any

from . import tables
from .errors import DescentAPIError

BINARY_ROWS = 1_000
NPY = "application/x-npy"
ARROW = "application/vnd.apache.arrow.stream"


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
        import pyarrow.ipc  # noqa: F401  (pa.ipc)
    except ImportError:
        return None
    return pa


def predict_body(inputs: Any) -> tuple[str, bytes] | None:
    """``(content type, body)`` for inputs worth sending in binary, else None (JSON)."""
    if not hasattr(inputs, "__len__") or len(inputs) < BINARY_ROWS:
        return None
    if tables.is_dataframe(inputs):
        pa = _pyarrow()
        if pa is None:
            return None
        try:
            table = pa.Table.from_pandas(inputs, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
            return None  # mixed-type object columns: JSON records say it cell by cell
        table = table.replace_schema_metadata(None)  # pandas' own metadata: not ours to send
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return ARROW, bytes(sink.getvalue())
    if type(inputs).__module__ == "numpy" and type(inputs).__name__ == "ndarray":
        if inputs.ndim != 2 or inputs.dtype.kind not in "iuf":
            return None
        import numpy as np

        out = io.BytesIO()
        np.save(out, inputs, allow_pickle=False)
        return NPY, out.getvalue()
    return None


def predict(transport: Any, url: str, inputs: Any, *, store: bool) -> dict[str, Any] | None:
    """The answer (as JSON's fields) of ``POST url`` with ``inputs`` in binary, or None when
    they are not worth it or the server cannot read that format (415: an older server, or one
    without pyarrow): then the caller sends JSON."""
    encoded = predict_body(inputs)
    if encoded is None:
        return None
    media, content = encoded
    try:
        answer = transport.request(
            "POST", url, content=content, params={"store": "true"} if store else None,
            headers={"Content-Type": media, "Accept": accept()})
    except DescentAPIError as exc:
        if exc.status == 415:
            return None
        raise
    if answer.headers.get("content-type", "").startswith(ARROW):
        return read_answer(answer.content)
    document: dict[str, Any] = answer.json()
    return document


def accept() -> str:
    """The answer's format: Arrow (predictions and probabilities) when pyarrow is here."""
    return ARROW if _pyarrow() is not None else "application/json"


def read_answer(content: bytes) -> dict[str, Any]:
    """An Arrow answer as the JSON answer's fields."""
    pa = _pyarrow()
    table = pa.ipc.open_stream(content).read_all()
    metadata = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    answer: dict[str, Any] = {
        "predictions": table.column("prediction").to_pylist(),
        "probabilities": None,
        "prediction_id": metadata.get("prediction_id"),
    }
    if "probabilities" in table.column_names:
        rows = table.column("probabilities").to_pylist()
        if any(isinstance(p, list) for p in answer["predictions"]):  # multilabel: label sets
            labels = json.loads(metadata["classes"])
            rows = [dict(zip(labels, row, strict=True)) for row in rows]
        answer["probabilities"] = rows
    if "ignored_columns" in metadata:
        answer["ignored_columns"] = json.loads(metadata["ignored_columns"])
    return answer
