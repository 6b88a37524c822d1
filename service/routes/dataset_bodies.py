"""Dataset bodies read as they stream: the cap on their size, and binary bodies (an ``.npy`` or
``.npz`` sent as it is, its options as query parameters) spooled to a temporary file."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from fastapi import Request

from service import datasets as parsing
from service.errors import PayloadTooLarge
from service.settings import Settings

Parse = Callable[[], Any]


async def limited_stream(request: Request, limit: int, setting: str) -> AsyncIterator[bytes]:
    """The body's chunks, refused with 413 as soon as it is known to be over ``limit``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the upload is {int(declared):,} bytes; the limit is {limit:,} "
                              f"bytes ({setting})")
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The upload is over the limit of {limit:,} bytes ({setting}).")
        yield chunk


def limits(settings: Settings) -> parsing.Limits:
    return parsing.Limits(max_categories=settings.max_column_categories,
                          max_width=settings.max_encoded_width)


RAW = {"application/x-npy": "npy", "application/x-npz": "npz"}


async def read_raw(request: Request, settings: Settings, suffix: str) -> tuple[Parse, int]:
    """A binary body (an ``.npy``, ``.npz`` or CSV as it is), the form's fields as query
    parameters: streamed to a temporary file (bounded memory), parsed from there."""
    query = request.query_params
    targets = [t for t in query.getlist("target") if t]
    kind = query.get("target_kind") or None
    kinds = parsing.column_kinds(query.get("column_kinds"), ["query", "column_kinds"])
    name = parsing.check_name(query.get("name") or None, ["query", "name"])
    spool = await anyio.to_thread.run_sync(tempfile.TemporaryFile)
    size = 0
    try:
        async for chunk in limited_stream(request, settings.max_upload_bytes,
                                          "DESCENT_MAX_UPLOAD_BYTES"):
            size += len(chunk)
            await anyio.to_thread.run_sync(spool.write, chunk)
    except BaseException:
        spool.close()
        raise

    def parse() -> Any:
        try:
            parsed = parsing.parse_file(
                spool, filename=f"upload.{suffix}", targets=targets, target_kind=kind,
                max_array_bytes=settings.max_dataset_array_bytes,
                max_columns=settings.max_dataset_columns, kinds=kinds, limits=limits(settings))
        finally:
            spool.close()
        return parsed, name, kind is not None

    return parse, size
