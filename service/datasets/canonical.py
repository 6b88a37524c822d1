"""The canonical form every upload is parsed into, its checks and its content hash.

Whatever the upload format, a dataset ends up as its feature columns, a ``Table`` (numeric:
float64, or an ``.npz``'s ``X`` in the dtype it came in, NaN = missing; categorical: codes into
sorted categories, -1 = missing) and, when it has targets, either class indices ``y`` (int64, n)
into the sorted ``classes`` (``target_kind "labels"``) or ``y`` (float64, n × k) (``"values"``):
exactly what ``service.artifacts.encode_table`` stores.

``sha256`` hashes the canonical arrays, not the upload's bytes, so the same data uploaded as
JSON, CSV or ``.npz`` dedupes to one dataset. It covers the shapes, the numeric cells (NaN as
one NaN), the target kind, the classes (as JSON) and ``y`` — and, for a table with categorical
columns, the columns' kinds, categories and codes — and the feature and target names when the
upload has them: a model takes its columns by name, so the same cells under other names are
another dataset (deduplicated to the first, a CSV with columns ``p, q`` became a dataset, and
then a model, taking ``a, b``). The dataset's own name is not part of it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from service import artifacts
from service.errors import InvalidInput, field_error
from worker.pipeline import Table
from worker.pipeline import encode as encode_labels

from .columns import Limits, check_kind_names, check_limits, with_kinds

TargetKind = Literal["labels", "values"]
TARGET_KINDS = ("labels", "values")
_HASH_VERSION = b"descent-dataset-v1\0"
MAX_NAME_CHARS = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True, eq=False)
class ParsedDataset:
    """A parsed upload: its feature columns ``table``, ``y`` (int64 (n,) labels | float64
    (n × k))."""

    table: Table
    y: np.ndarray | None
    target_kind: TargetKind | None
    classes: list[Any] | None
    feature_names: list[str] | None
    target_names: list[str] | None
    sha256: str
    # The task the targets' form implies ("multilabel" for label sets), else None: the job's
    # default task then follows target_kind.
    task: str | None = None
    # What the upload's answer should warn about (not part of the content: not hashed).
    warnings: tuple[str, ...] = ()

    @property
    def X(self) -> np.ndarray:
        """The feature matrix ``(n, d)`` float64 of an all-numeric table."""
        return self.table.matrix()

    @property
    def n_rows(self) -> int:
        return self.table.n_rows

    @property
    def n_features(self) -> int:
        return len(self.table.columns)

    @property
    def n_targets(self) -> int:
        """0 without targets, 1 for labels, k for values."""
        if self.y is None:
            return 0
        return 1 if self.target_kind == "labels" else int(self.y.shape[1])

    @property
    def columns(self) -> list[dict[str, Any]]:
        """The column schema stored with the dataset (``tables.Dataset.columns``)."""
        return self.table.schema()

    def encode(self) -> bytes:
        """The stored bytes (``tables.Dataset.content``), see ``service.artifacts``."""
        return artifacts.encode_table(self.table, self.y)


def invalid(loc: list[str | int], msg: str) -> InvalidInput:
    return InvalidInput(msg, errors=[field_error(loc, msg)])


def text_problem(value: str, *, control: bool = False) -> str | None:
    """Why ``value`` cannot be stored and answered as text, or None.

    Refused: what does not encode as UTF-8 (a lone UTF-16 surrogate such as JSON ``"\\ud800"``:
    it would be stored, then fail every response that shows it), NUL (PostgreSQL text cannot
    hold it) and, unless ``control``, any other control character (C0/C1, tab and newline too).
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (
            f"character {exc.start} is {value[exc.start]!r}, a lone UTF-16 surrogate that is not"
            " text; send valid Unicode"
        )
    if not control:
        found = _CONTROL.search(value)
        if found is not None:
            return f"character {found.start()} is the control character {found.group()!r}"
    elif "\0" in value:
        return f"character {value.index(chr(0))} is the NUL character '\\x00'"
    return None


def check_name(name: Any, loc: list[str | int]) -> str | None:
    """The dataset ``name`` (JSON and multipart alike): a string of at most 200 characters,
    valid Unicode, no control characters; None stays None."""
    if name is None:
        return None
    if not isinstance(name, str) or len(name) > MAX_NAME_CHARS:
        raise invalid(loc, f"name must be a string of at most {MAX_NAME_CHARS} characters")
    problem = text_problem(name)
    if problem is not None:
        raise invalid(loc, f"name cannot be stored: {problem}")
    return name


def check_texts(values: Sequence[Any], loc: list[str | int], what: str) -> None:
    """``InvalidInput`` at ``loc + [i]`` for the first string of ``values`` that is not text
    (see ``text_problem``; control characters other than NUL are allowed)."""
    for i, value in enumerate(values):
        if isinstance(value, str):
            problem = text_problem(value, control=True)
            if problem is not None:
                raise invalid([*loc, i], f"{what}[{i}] cannot be stored: {problem}")


def first_non_finite(array: np.ndarray) -> tuple[int, int] | None:
    """``(row, column)`` of the first NaN/Inf of a 2-D array, or None."""
    bad = ~np.isfinite(array)
    if not bad.any():
        return None
    row, col = np.argwhere(bad)[0]
    return int(row), int(col)


def build(
    X: np.ndarray | Table,
    *,
    labels: Sequence[Any] | None = None,
    values: np.ndarray | None = None,
    feature_names: list[str] | None = None,
    target_names: list[str] | None = None,
    loc: list[str | int],
    kinds: dict[str, str] | None = None,
    limits: Limits | None = None,
    first_row: int = 0,
    task: str | None = None,
) -> ParsedDataset:
    """The canonical dataset from checked feature columns — a numeric matrix ``X`` (float64
    or the dtype it came in; NaN = missing, no infinities) or a ``Table`` — and at most one
    kind of targets.

    ``values`` (float64, n × k) must be finite. Checks what is common to every format: at
    least 2 rows and 1 feature column; ``kinds`` (``column_kinds``) turning numeric columns
    categorical; the ``limits`` (rows named from ``first_row``). ``task`` is the task the
    targets' form implies (``"multilabel"`` for label sets; hashed, so it is part of the content).
    """
    n_rows = X.n_rows if isinstance(X, Table) else X.shape[0]
    if n_rows < 2:
        raise invalid(loc, f"the dataset has {n_rows} row(s); at least 2 are needed")
    if isinstance(X, Table):
        table = X
    elif X.ndim != 2 or X.shape[1] == 0:
        raise invalid(loc, "the dataset has no feature columns; at least 1 is needed")
    else:
        table = _matrix_table(X, feature_names, kinds)
    if kinds:
        check_kind_names(kinds, table.names)
    table = with_kinds(table, kinds or {})
    check_limits(table, limits or Limits(), loc, first_row)
    y: np.ndarray | None = None
    classes: list[Any] | None = None
    kind: TargetKind | None = None
    if labels is not None:
        y, classes = encode_labels(labels)
        kind = "labels"
    elif values is not None:
        y = np.ascontiguousarray(values, dtype=np.float64)
        kind = "values"
    names = feature_names or (None if isinstance(X, np.ndarray) else table.names)
    return ParsedDataset(
        table=table,
        y=y,
        target_kind=kind,
        classes=classes,
        feature_names=names,
        target_names=target_names,
        sha256=table_sha256(table, y, kind, classes,
                            names=[names, target_names, *([task] if task else [])]),
        task=task,
    )


def _matrix_table(X: np.ndarray, names: list[str] | None, kinds: dict[str, str] | None) -> Table:
    """A matrix's columns, in its numeric dtype (stored as it came, ``service.artifacts``)
    unless columns are to be read as categories, which go by float64 numbers' text."""
    keep = (X.dtype.str[1:] in artifacts.STORED_DTYPES
            and not any(k == "categorical" for k in (kinds or {}).values()))
    dtype = None if keep else np.float64
    return Table.from_matrix(np.ascontiguousarray(X, dtype=dtype), names, dtype=dtype)


def table_sha256(table: Table, y: np.ndarray | None, target_kind: str | None,
                 classes: list[Any] | None, names: list[Any] | None = None) -> str:
    """``content_sha256`` of an all-numeric table, else the same with the columns' kinds,
    categories and codes; ``names`` (feature and target names, when given) are hashed too."""
    if table.numeric:
        return content_sha256(table.matrix(), y, target_kind, classes, names)
    digest = hashlib.sha256(_HASH_VERSION + b"table\0")
    header = {"rows": table.n_rows, "y": None if y is None else list(y.shape),
              "target_kind": target_kind, "classes": classes,
              "columns": [[c.kind, list(c.categories or ())] for c in table.columns]}
    if names is not None and any(n is not None for n in names):
        header["names"] = names
    digest.update(json.dumps(header, sort_keys=True, separators=(",", ":")).encode())
    for column in table.columns:
        if column.kind == "numeric":
            _update(digest, column.values.reshape(-1, 1), "<f8")
        else:
            _update(digest, column.values.reshape(-1, 1), "<i4")
    if y is not None:
        _update(digest, y, "<i8" if target_kind == "labels" else "<f8")
    return digest.hexdigest()


def content_sha256(
    X: np.ndarray, y: np.ndarray | None, target_kind: str | None, classes: list[Any] | None,
    names: list[Any] | None = None,
) -> str:
    """SHA-256 of the canonical content (see the module docstring); -0.0 hashes as 0.0.
    Without names (a matrix upload without ``feature_names``) the hash is what it always was."""
    digest = hashlib.sha256(_HASH_VERSION)
    header: dict[str, Any] = {
        "X": list(X.shape),
        "y": None if y is None else list(y.shape),
        "target_kind": target_kind,
        "classes": classes,
    }
    if names is not None and any(n is not None for n in names):
        header["names"] = names
    digest.update(json.dumps(header, sort_keys=True, separators=(",", ":")).encode())
    _update(digest, X, "<f8")
    if y is not None:
        _update(digest, y, "<i8" if target_kind == "labels" else "<f8")
    return digest.hexdigest()


def _update(digest: Any, array: np.ndarray, dtype: str, block_bytes: int = 4 << 20) -> None:
    """Hash ``array``'s values as ``dtype`` (floats with -0.0 as 0.0) a slice of rows (about
    ``block_bytes`` once converted) at a time: whatever dtype the array came in, no copy of
    the whole array is made, so the same numbers hash alike from a CSV or a ``uint8`` ``.npz``."""
    width = int(np.prod(array.shape[1:])) if array.ndim > 1 else 1
    rows = max(1, block_bytes // (8 * max(width, 1)))
    exact = array.dtype.kind in "biu"  # integers: no -0.0, no NaN to canonicalize
    for start in range(0, max(array.shape[0], 1), rows):
        part = np.ascontiguousarray(array[start : start + rows], dtype=dtype)
        if dtype == "<f8" and not exact:
            part = part + 0.0
            part[np.isnan(part)] = np.nan  # one NaN whatever its payload
        digest.update(part.data.cast("B"))
        artifacts.release_pages(array)


def check_target_kind(target_kind: str | None, loc: list[str | int]) -> None:
    if target_kind is not None and target_kind not in TARGET_KINDS:
        raise invalid(loc, f"target_kind must be 'labels' or 'values', not {target_kind!r}")
