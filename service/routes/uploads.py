"""``/v1/uploads``: a dataset sent in parts, resumable (``service.uploads``).

``POST /v1/uploads`` → ``PUT /v1/uploads/{id}?offset=N`` per part (its bytes as the body,
streamed to the staging file, never held whole) → ``POST /v1/uploads/{id}/complete`` naming the
format, which parses the file like ``POST /v1/datasets`` and answers the same way.
``GET /v1/uploads/{id}`` says where to resume; ``DELETE`` drops an upload.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.status import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from service import datasets as parsing
from service import uploads
from service.deps import CallerDep, DbDep, SettingsDep
from service.errors import Conflict, InvalidInput, field_error
from service.problems import problem_responses
from service.routes.datasets import create_dataset, limits
from service.schemas.datasets import DatasetUploaded
from service.schemas.uploads import UploadComplete, UploadCreate, UploadPublic
from service.settings import Settings

router = APIRouter(prefix="/v1/uploads", tags=["uploads"])

WRITE_BYTES = 4 << 20  # the body's chunks are gathered to this size per write (one thread hop)
PART_BODY = {"requestBody": {"required": True, "content": {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}


def _folder(request: Request) -> Path:
    state = request.app.state
    if getattr(state, "upload_folder", None) is None:
        state.upload_folder = uploads.staging_dir(state.settings, state.db.url)
        state.upload_locks = {}
    folder: Path = state.upload_folder
    return folder


@asynccontextmanager
async def _only_one(request: Request, upload_id: str) -> AsyncIterator[None]:
    """One request at a time receives a part of, or completes, an upload (in this process,
    which holds its staging file): a complete must not truncate and parse the file while a part
    is still being written into it."""
    locks: dict[str, anyio.Lock] = request.app.state.upload_locks
    lock = locks.setdefault(upload_id, anyio.Lock())
    if lock.locked():
        raise Conflict(f"Upload {upload_id} is busy: a part is being received or the upload "
                       "completed; wait for that answer, then ask GET /v1/uploads/"
                       f"{upload_id} where it stands.")
    async with lock:
        try:
            yield
        finally:
            locks.pop(upload_id, None)


def _public(row: Any, settings: Settings) -> UploadPublic:
    return UploadPublic.of(row, uploads.expires_at(row, settings))


@router.post("", status_code=HTTP_201_CREATED, response_model=UploadPublic,
             responses=problem_responses(401, 413, 422), summary="Start a chunked upload")
def create_upload(body: UploadCreate, request: Request, response: Response, caller: CallerDep,
                  db: DbDep, settings: SettingsDep) -> UploadPublic:
    folder = _folder(request)
    uploads.expire(db, folder, settings)
    row = uploads.create(db, settings, tenant_id=caller.tenant_id, total_bytes=body.total_bytes)
    response.headers["Location"] = f"/v1/uploads/{row.id}"
    return _public(row, settings)


@router.get("/{upload_id}", response_model=UploadPublic,
            responses=problem_responses(401, 404), summary="Where a chunked upload stands")
def get_upload(upload_id: str, caller: CallerDep, db: DbDep,
               settings: SettingsDep) -> UploadPublic:
    return _public(uploads.get(db, tenant_id=caller.tenant_id, upload_id=upload_id), settings)


@router.put("/{upload_id}", response_model=UploadPublic, openapi_extra=PART_BODY,
            responses=problem_responses(401, 404, 409, 413, 422),
            summary="Send the part of a chunked upload that starts at `offset`")
async def put_part(
    upload_id: str, request: Request, caller: CallerDep, db: DbDep, settings: SettingsDep,
    offset: Annotated[int, Query(ge=0, description="Where the part starts: the upload's "
                                                   "received_bytes")],
) -> UploadPublic:
    folder = _folder(request)
    row = await run_in_threadpool(uploads.get, db, tenant_id=caller.tenant_id,
                                  upload_id=upload_id)
    declared = request.headers.get("content-length", "")
    length = int(declared) if declared.isdigit() else None
    room = await run_in_threadpool(uploads.check_part, db, settings, row, offset, length)
    async with _only_one(request, upload_id):
        end = await _receive(request, uploads.staging_file(folder, upload_id), offset,
                             length, room, settings)
        if not await run_in_threadpool(uploads.advance, db, upload_id=upload_id,
                                       offset=offset, end=end):
            raise Conflict(f"Another part of upload {upload_id} arrived first; ask "
                           f"GET /v1/uploads/{upload_id} where to resume.")
    row = await run_in_threadpool(uploads.get, db, tenant_id=caller.tenant_id,
                                  upload_id=upload_id)
    return _public(row, settings)


async def _receive(request: Request, file: Path, offset: int, length: int | None, room: int,
                   settings: Settings) -> int:
    """Write the body at ``offset`` (synced before returning); the end offset. Memory holds at
    most ``WRITE_BYTES`` of it; a body without Content-Length stops at the upload limit and at
    the ``room`` left in the tenant's quota."""
    fd = await anyio.to_thread.run_sync(uploads.open_at, file, offset)
    try:
        size, pending = 0, bytearray()
        async for chunk in request.stream():
            pending += chunk
            size += len(chunk)
            if length is None:
                uploads.check_size(settings, offset + size)
                if size > room:
                    raise uploads.over_quota(settings,
                                             settings.max_tenant_storage_bytes - room + size)
            if len(pending) >= WRITE_BYTES:
                await anyio.to_thread.run_sync(_write_all, fd, bytes(pending))
                pending.clear()
        if length is not None and size != length:
            raise InvalidInput(f"The part has {size:,} bytes; its Content-Length said {length:,}.",
                               errors=[field_error(["body"], "incomplete part")])
        await anyio.to_thread.run_sync(_write_all, fd, bytes(pending))
        await anyio.to_thread.run_sync(os.fsync, fd)
    finally:
        os.close(fd)
    return offset + size


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


@router.post("/{upload_id}/complete", status_code=HTTP_201_CREATED,
             response_model=DatasetUploaded,
             responses={200: {"model": DatasetUploaded,
                              "description": "The same content was uploaded before"},
                        **problem_responses(401, 404, 409, 413, 415, 422)},
             summary="Turn a chunked upload into a dataset")
async def complete_upload(upload_id: str, body: UploadComplete, request: Request,
                          response: Response, caller: CallerDep, db: DbDep,
                          settings: SettingsDep) -> DatasetUploaded:
    folder = _folder(request)
    row = await run_in_threadpool(uploads.get, db, tenant_id=caller.tenant_id,
                                  upload_id=upload_id)
    if row.total_bytes is not None and row.received_bytes != row.total_bytes:
        raise Conflict(f"The upload has {row.received_bytes:,} of its {row.total_bytes:,} "
                       f"bytes; send the part at offset {row.received_bytes} first.")
    if row.received_bytes == 0:  # not "the parts are not on this server": none were sent
        raise InvalidInput("The upload is empty: send its bytes with PUT before completing it.",
                           errors=[field_error(["body"], "no bytes received")])
    file = uploads.staging_file(folder, upload_id)
    size = row.received_bytes
    kinds = parsing.column_kinds(body.column_kinds, ["body", "column_kinds"])
    name = parsing.check_name(body.name, ["body", "name"])

    def parse() -> Any:
        if not file.exists():
            # A concurrent complete that won has removed both: say so (404), not "send again".
            uploads.get(db, tenant_id=caller.tenant_id, upload_id=upload_id)
            raise Conflict(f"The parts of upload {upload_id} are not on this server "
                           "(DESCENT_UPLOAD_STAGING_DIR); send them again.")
        with open(file, "r+b") as source:
            source.truncate(size)  # the row says how much counts: not a cut-off part's tail
            if body.sha256 is not None:
                _check_sha256(source, size, body.sha256)
            parsed = parsing.parse_file(
                source, filename=f"upload.{body.format}",
                targets=body.target or [], target_kind=body.target_kind,
                max_array_bytes=settings.max_dataset_array_bytes,
                max_columns=settings.max_dataset_columns, kinds=kinds, limits=limits(settings))
        return parsed, name, body.target_kind is not None

    async with _only_one(request, upload_id):
        answer = await create_dataset(parse, size, request, response, caller.tenant_id, db,
                                      settings, new_bytes=0)
        await run_in_threadpool(uploads.remove, db, folder, upload_id)
    return answer


def _check_sha256(source: Any, size: int, expected: str) -> None:
    digest = hashlib.sha256()
    left = size
    while left > 0:
        block = source.read(min(left, 8 << 20))
        if not block:
            break
        digest.update(block)
        left -= len(block)
    source.seek(0)
    if digest.hexdigest() != expected:
        msg = (f"the {size:,} bytes received hash to {digest.hexdigest()}, not the sha256 "
               "given: a part was sent wrong; start the upload again")
        raise InvalidInput(msg, errors=[field_error(["body", "sha256"], msg)])


@router.delete("/{upload_id}", status_code=HTTP_204_NO_CONTENT, response_class=Response,
               responses=problem_responses(401, 404), summary="Drop a chunked upload")
def delete_upload(upload_id: str, request: Request, caller: CallerDep, db: DbDep) -> Response:
    uploads.get(db, tenant_id=caller.tenant_id, upload_id=upload_id)
    uploads.remove(db, _folder(request), upload_id)
    return Response(status_code=HTTP_204_NO_CONTENT)
