"""``/v1/datasets``: upload (JSON, CSV or ``.npz``), list, get, delete."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.formparsers import MultiPartParser
from starlette.status import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from service import datasets as parsing
from service.deps import CallerDep, CursorQuery, DbDep, LimitQuery, SettingsDep
from service.errors import BadRequest, InvalidInput, PayloadTooLarge, UnsupportedMediaType
from service.problems import problem_responses
from service.repository import datasets as store
from service.schemas import DatasetPublic, Page
from service.schemas.common import DEFAULT_LIMIT
from service.schemas.datasets import DatasetCreate

router = APIRouter(prefix="/v1/datasets", tags=["datasets"])

MULTIPART_SCHEMA = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "A CSV or an .npz"},
        "target": {
            "type": "array", "items": {"type": "string"},
            "description": "CSV only: the target column (repeat for several)",
        },
        "target_kind": {"type": "string", "enum": ["labels", "values"]},
        "name": {
            "type": "string", "maxLength": parsing.MAX_NAME_CHARS,
            "description": "At most 200 characters, no control characters",
        },
    },
}
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": DatasetCreate.model_json_schema()},
            "multipart/form-data": {"schema": MULTIPART_SCHEMA},
        },
    }
}


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to be over ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit():
        parsing.check_upload_size(int(declared), limit=limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(
                f"The upload is over the limit of {limit:,} bytes (DESCENT_MAX_UPLOAD_BYTES)."
            )
        chunks.append(chunk)
    return b"".join(chunks)


async def _replay(body: bytes) -> AsyncGenerator[bytes, None]:
    yield body


async def _parse_upload(request: Request, body: bytes, limit: int) -> tuple[Any, Any, int]:
    """``(parse, name, size)``: a thunk to run off the event loop, the name, the upload size."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise BadRequest(f"The body is not valid JSON: {exc}.") from exc
        except RecursionError as exc:
            raise BadRequest(
                "The JSON body is nested too deeply; send features as a list of rows of numbers."
            ) from exc
        name = document.get("name") if isinstance(document, dict) else None
        return (lambda: parsing.parse_json(document)), name, len(body)
    if media == "multipart/form-data":
        try:
            form = await MultiPartParser(
                request.headers, _replay(body), max_part_size=limit
            ).parse()
        except Exception as exc:  # multipart's own errors: malformed form
            raise BadRequest(f"The multipart form could not be read: {exc}.") from exc
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidInput(
                "The form needs a `file` field holding a CSV or an .npz.",
                errors=[{"loc": ["body", "file"], "msg": "field required (a file)"}],
            )
        data = await upload.read()
        targets = [t for t in form.getlist("target") if isinstance(t, str) and t]
        kind = form.get("target_kind")
        name = form.get("name")
        name = parsing.check_name(name if isinstance(name, str) and name else None,
                                  ["body", "name"])
        filename = upload.filename

        def parse() -> Any:
            return parsing.parse_file(
                data, filename=filename, targets=targets,
                target_kind=kind if isinstance(kind, str) and kind else None,
            )

        return parse, name, len(data)
    raise UnsupportedMediaType(
        f"Send the dataset as application/json or multipart/form-data, not {media or 'nothing'}."
    )


@router.post(
    "",
    status_code=HTTP_201_CREATED,
    response_model=DatasetPublic,
    openapi_extra=UPLOAD_BODY,
    responses={
        200: {"model": DatasetPublic, "description": "The same content was uploaded before"},
        **problem_responses(400, 401, 413, 415, 422),
    },
    summary="Upload a dataset (JSON, or a CSV / .npz as multipart)",
)
async def upload_dataset(
    request: Request, response: Response, caller: CallerDep, db: DbDep, settings: SettingsDep
) -> DatasetPublic:
    limit = settings.max_upload_bytes
    body = await read_limited(request, limit)
    parse, name, size = await _parse_upload(request, body, limit)

    def store_it() -> tuple[Any, bool]:
        parsed = parse()
        return store.create_dataset(
            db, tenant_id=caller.tenant_id, parsed=parsed, name=name, size_bytes=size
        )

    row, created = await run_in_threadpool(store_it)
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/v1/datasets/{row.id}"
    return DatasetPublic.of(row)


@router.get("", response_model=Page[DatasetPublic], responses=problem_responses(401, 422))
def list_datasets(
    caller: CallerDep, db: DbDep, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> Page[DatasetPublic]:
    rows, next_cursor = store.list_datasets(
        db, tenant_id=caller.tenant_id, limit=limit, cursor=cursor
    )
    return Page[DatasetPublic](data=[DatasetPublic.of(r) for r in rows], next=next_cursor)


@router.get(
    "/{dataset_id}", response_model=DatasetPublic, responses=problem_responses(401, 404, 422)
)
def get_dataset(dataset_id: str, caller: CallerDep, db: DbDep) -> DatasetPublic:
    with db.read() as session:
        row = store.get_dataset(session, tenant_id=caller.tenant_id, dataset_id=dataset_id)
    return DatasetPublic.of(row)


@router.delete(
    "/{dataset_id}",
    status_code=HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 404, 409, 422),
)
def delete_dataset(dataset_id: str, caller: CallerDep, db: DbDep) -> Response:
    store.delete_dataset(db, tenant_id=caller.tenant_id, dataset_id=dataset_id)
    return Response(status_code=HTTP_204_NO_CONTENT)
