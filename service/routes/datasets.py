"""``/v1/datasets``: upload (JSON; a CSV / ``.npz`` / ``.npy`` as multipart; an ``.npy`` or
``.npz`` as the body), list, get, delete (its artifact with it).

An upload never parses on the event loop and never holds more than a bounded share of memory: a
multipart body streams into the form parser, whose file part spools to a temporary file (on
disk beyond 1 MB); the file is parsed from there in a worker thread, a block of rows at a time.
A JSON body (capped lower, ``DESCENT_MAX_JSON_UPLOAD_BYTES``: every cell becomes a Python object
while it is read) is parsed in a worker thread too. At most ``DESCENT_UPLOAD_PARSE_CONCURRENCY``
uploads parse at once per API process; the others wait their turn without holding a thread.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartParser
from starlette.status import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from service import artifact_store, fastjson, uploads
from service import datasets as parsing
from service.datasets.target_summary import summarize
from service.db import Database
from service.deps import CallerDep, CursorQuery, DbDep, LimitQuery, SettingsDep
from service.errors import BadRequest, InvalidInput, PayloadTooLarge, UnsupportedMediaType
from service.problems import problem_responses
from service.repository import datasets as store
from service.routes.dataset_bodies import RAW, limited_stream, limits, read_raw
from service.schemas import DatasetPublic, DatasetSummary, Page
from service.schemas.common import DEFAULT_LIMIT
from service.schemas.datasets import (
    DatasetCreate,
    DatasetRecordsCreate,
    DatasetTargets,
    DatasetUploaded,
    dedupe_message,
)
from service.settings import Settings
from service.specs.targets import load_targets, upload_hint

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
        "target_kind": {"type": "string", "enum": ["labels", "values"], "description": (
            "Inferred when omitted (whole numbers and strings are labels); a job's task may "
            "still read numeric labels as values, or whole-number values as labels")},
        "column_kinds": {
            "type": "string",
            "description": 'A JSON object naming columns and their kinds, "numeric" or '
                           '"categorical" (e.g. {"zip": "categorical"}); others are inferred',
        },
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
            "application/json": {"schema": {"anyOf": [
                DatasetCreate.model_json_schema(), DatasetRecordsCreate.model_json_schema()]}},
            "multipart/form-data": {"schema": MULTIPART_SCHEMA},
            **{media: {"schema": {"type": "string", "format": "binary"}} for media in RAW},
        },
    }
}
Parse = Callable[[], Any]


async def _read_json(request: Request, settings: Settings) -> tuple[Parse, Any]:
    limit = min(settings.max_json_upload_bytes, settings.max_upload_bytes)
    setting = ("DESCENT_MAX_JSON_UPLOAD_BYTES: upload a larger dataset as a CSV or an .npz"
               if limit < settings.max_upload_bytes else "DESCENT_MAX_UPLOAD_BYTES")
    body = b"".join([chunk async for chunk in limited_stream(request, limit, setting)])

    def parse() -> Any:
        try:
            document = fastjson.loads(body)
        except ValueError as exc:
            message = str(exc)
            if "nested too deeply" in message:
                raise BadRequest("The JSON body is nested too deeply; send features as a list "
                                 "of rows of numbers.") from exc
            raise BadRequest(f"The body is not valid JSON: {exc}.") from exc
        name = document.get("name") if isinstance(document, dict) else None
        given = isinstance(document, dict) and document.get("target_kind") is not None
        return parsing.parse_json(document, max_columns=settings.max_dataset_columns,
                                  limits=limits(settings)), name, given

    return parse, len(body)


async def _replay(body: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    async for chunk in body:
        yield chunk


async def _read_form(request: Request, settings: Settings) -> tuple[Parse, int]:
    limit = settings.max_upload_bytes
    stream = _replay(limited_stream(request, limit, "DESCENT_MAX_UPLOAD_BYTES"))
    try:
        form = await MultiPartParser(request.headers, stream, max_part_size=limit).parse()
    except PayloadTooLarge:
        raise
    except Exception as exc:  # multipart's own errors: malformed form
        raise BadRequest(f"The multipart form could not be read: {exc}.") from exc
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidInput(
            "The form needs a `file` field holding a CSV or an .npz.",
            errors=[{"loc": ["body", "file"], "msg": "field required (a file)"}],
        )
    targets = [t for t in form.getlist("target") if isinstance(t, str) and t]
    kind = form.get("target_kind")
    kinds = parsing.column_kinds(form.get("column_kinds"), ["body", "column_kinds"])
    name = form.get("name")
    name = parsing.check_name(name if isinstance(name, str) and name else None,
                              ["body", "name"])

    def parse() -> Any:
        try:
            parsed = parsing.parse_file(
                upload.file, filename=upload.filename, targets=targets,
                target_kind=kind if isinstance(kind, str) and kind else None,
                max_array_bytes=settings.max_dataset_array_bytes,
                max_columns=settings.max_dataset_columns, kinds=kinds, limits=limits(settings),
            )
        finally:
            upload.file.close()
        return parsed, name, isinstance(kind, str) and bool(kind)

    return parse, upload.size or 0


async def _reader(request: Request, settings: Settings) -> tuple[Parse, int]:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return await _read_json(request, settings)
    if media == "multipart/form-data":
        return await _read_form(request, settings)
    if media in RAW:
        return await read_raw(request, settings, RAW[media])
    raise UnsupportedMediaType(
        f"Send the dataset as application/json, multipart/form-data, application/x-npy or "
        f"application/x-npz, not {media or 'nothing'}."
    )


def parse_slots(request: Request) -> anyio.Semaphore:
    """The API process's upload-parsing slots (made on first use)."""
    state = request.app.state
    if getattr(state, "upload_slots", None) is None:
        state.upload_slots = anyio.Semaphore(state.settings.upload_parse_concurrency)
    slots: anyio.Semaphore = state.upload_slots
    return slots


@router.post(
    "",
    status_code=HTTP_201_CREATED,
    response_model=DatasetUploaded,
    openapi_extra=UPLOAD_BODY,
    responses={
        200: {"model": DatasetUploaded, "description": "The same content was uploaded before: "
              "that dataset, with `deduplicated` true and a `message` naming it"},
        **problem_responses(400, 401, 413, 415, 422),
    },
    summary="Upload a dataset (JSON, or a CSV / .npz as multipart)",
)
async def upload_dataset(
    request: Request, response: Response, caller: CallerDep, db: DbDep, settings: SettingsDep
) -> DatasetUploaded:
    parse, size = await _reader(request, settings)
    return await create_dataset(parse, size, request, response, caller.tenant_id, db, settings,
                                new_bytes=size)


async def create_dataset(parse: Parse, size: int, request: Request, response: Response,
                         tenant_id: str, db: Database, settings: Settings, *,
                         new_bytes: int) -> DatasetUploaded:
    """Parse (in a worker thread, in one of the process's parse slots) and store a dataset;
    the answer of ``POST /v1/datasets`` (201, or 200 for content seen before). ``new_bytes``
    is what it adds to the tenant's storage (a completed upload's bytes are counted already)."""
    given, warnings = False, ()

    def store_it() -> tuple[Any, bool, str | None]:
        nonlocal given, warnings
        parsed, name, given = parse()
        warnings = parsed.warnings
        existing = store.find_by_content(db, tenant_id=tenant_id, sha256=parsed.sha256)
        if existing is not None:
            return existing, False, name
        with db.read() as session:
            uploads.check_quota(session, settings, tenant_id, new_bytes)
        row = store.new_dataset(parsed, tenant_id=tenant_id, name=name, size_bytes=size,
                                store=artifact_store.for_database(db.url))
        del parsed  # the columns are encoded in the row now: let them go before the insert
        return *store.insert_dataset(db, row), name

    async with parse_slots(request):
        row, created, name = await run_in_threadpool(store_it)
    response.headers["Location"] = f"/v1/datasets/{row.id}"
    answer = DatasetUploaded.of(row)
    answer.target_kind_guessed = not given and row.target_kind is not None
    answer.hint = upload_hint(row.target_kind, row.classes, given, row.task)
    answer.warnings = list(warnings)
    if created:
        return answer
    response.status_code = 200
    answer.deduplicated, answer.message = True, dedupe_message(row, name)
    return answer


@router.get("", response_model=Page[DatasetSummary], responses=problem_responses(401, 422))
def list_datasets(
    caller: CallerDep, db: DbDep, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> Page[DatasetSummary]:
    rows, next_cursor = store.list_datasets(
        db, tenant_id=caller.tenant_id, limit=limit, cursor=cursor
    )
    return Page[DatasetSummary](data=[DatasetSummary.of(r) for r in rows], next=next_cursor)


@router.get(
    "/{dataset_id}", response_model=DatasetPublic, responses=problem_responses(401, 404, 422)
)
def get_dataset(dataset_id: str, caller: CallerDep, db: DbDep) -> DatasetPublic:
    with db.read() as session:
        row = store.get_dataset(session, tenant_id=caller.tenant_id, dataset_id=dataset_id)
    return DatasetPublic.of(row)


@router.get(
    "/{dataset_id}/targets", response_model=DatasetTargets,
    responses=problem_responses(401, 404, 422),
)
def get_dataset_targets(dataset_id: str, caller: CallerDep, db: DbDep) -> DatasetTargets:
    """Each target column's class balance or histogram (the dashboard's dataset page)."""
    with db.read() as session:
        row = store.get_dataset(session, tenant_id=caller.tenant_id, dataset_id=dataset_id)
        y = load_targets(session, row) if row.n_targets else None
    return DatasetTargets.model_validate(
        {"targets": summarize(y, row.target_kind, row.classes, row.target_names)})


@router.delete(
    "/{dataset_id}",
    status_code=HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 404, 409, 422),
)
def delete_dataset(dataset_id: str, caller: CallerDep, db: DbDep) -> Response:
    store.delete_dataset(db, tenant_id=caller.tenant_id, dataset_id=dataset_id)
    return Response(status_code=HTTP_204_NO_CONTENT)
