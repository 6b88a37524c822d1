"""Parsing dataset uploads (JSON, CSV, ``.npz``) into canonical arrays; pure, no HTTP, no DB.

Every parser returns a ``ParsedDataset`` or raises ``InvalidInput`` whose message names the row,
column or field at fault (``PayloadTooLarge`` / ``UnsupportedMediaType`` from the helpers for
file uploads). See ``canonical`` for the stored form and what ``sha256`` covers.
"""

from __future__ import annotations

import io
from typing import BinaryIO

from service.errors import PayloadTooLarge, UnsupportedMediaType

from .canonical import (
    MAX_NAME_CHARS,
    TARGET_KINDS,
    ParsedDataset,
    check_name,
    content_sha256,
    invalid,
    text_problem,
)
from .columns import Limits, column_kinds
from .from_csv import parse_csv
from .from_json import parse_json
from .from_npy import parse_npy
from .from_npz import parse_npz

__all__ = [
    "MAX_NAME_CHARS",
    "Limits",
    "TARGET_KINDS",
    "ParsedDataset",
    "check_name",
    "check_upload_size",
    "column_kinds",
    "content_sha256",
    "parse_csv",
    "parse_file",
    "parse_json",
    "parse_npy",
    "parse_npz",
    "text_problem",
]

_ZIP_MAGIC = b"PK\x03\x04"
_NPY_MAGIC = b"\x93NUMPY"
_REFUSED_SUFFIXES = (".xlsx", ".xls", ".parquet", ".json", ".pkl", ".pickle", ".gz", ".zip")


def check_upload_size(size: int, *, limit: int) -> None:
    """``PayloadTooLarge`` when an upload of ``size`` bytes exceeds ``limit`` (settings)."""
    if size > limit:
        raise PayloadTooLarge(
            f"the upload is {size:,} bytes; the limit is {limit:,} bytes (DESCENT_MAX_UPLOAD_BYTES)"
        )


def parse_file(
    data: bytes | BinaryIO,
    *,
    filename: str | None = None,
    targets: list[str] | None = None,
    target_kind: str | None = None,
    max_array_bytes: int | None = None,
    max_columns: int | None = None,
    kinds: dict[str, str] | None = None,
    limits: Limits | None = None,
) -> ParsedDataset:
    """A multipart ``file`` (its bytes, or the seekable file it was spooled to): an ``.npz``
    (recognised by its zip signature), an ``.npy`` (by its magic) or else a CSV.

    ``targets`` are the form's ``target`` fields (CSV only; an ``.npz`` carries ``y``);
    ``kinds`` its ``column_kinds``.
    """
    source = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
    source.seek(0)
    head = source.read(4096)
    source.seek(0)
    name = (filename or "").lower()
    is_zip = head[:4] == _ZIP_MAGIC
    if is_zip or name.endswith(".npz"):
        if targets:
            raise invalid(
                ["body", "target"],
                "the target field applies to CSV uploads; an .npz"
                " carries its targets as the array y",
            )
        return parse_npz(source, target_kind=target_kind, max_array_bytes=max_array_bytes,
                         max_columns=max_columns, kinds=kinds, limits=limits)
    if head.startswith(_NPY_MAGIC) or name.endswith(".npy"):
        return parse_npy(source, targets=targets, target_kind=target_kind,
                         max_array_bytes=max_array_bytes, max_columns=max_columns, kinds=kinds,
                         limits=limits)
    if name.endswith(_REFUSED_SUFFIXES) or b"\0" in head:
        raise UnsupportedMediaType(
            f"cannot read {filename or 'this file'}: upload a CSV with a header row, an .npz"
            " holding arrays X and y, or an .npy (or send JSON with features and targets)"
        )
    return parse_csv(source, targets=targets or [], target_kind=target_kind,
                     max_columns=max_columns, column_kinds=kinds, limits=limits)
