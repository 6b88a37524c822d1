"""``/v1/jobs``: submit (validated against the data first), estimate, gradient check, list, get,
history, attempts, events (SSE) and cancel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from starlette.status import HTTP_202_ACCEPTED

from service import events, fastjson, gradcheck, specs, tables
from service.db import Database
from service.deps import CallerDep, CursorQuery, DbDep, LimitQuery, SettingsDep
from service.event_hub import EventHub
from service.problems import problem_responses
from service.repository import datasets as dataset_store
from service.repository import jobs as store
from service.repository import known_id
from service.schemas import (
    AttemptPublic,
    AttemptsPublic,
    EstimatePublic,
    HistoryPublic,
    JobPublic,
    Page,
)
from service.schemas.common import DEFAULT_LIMIT
from service.schemas.gradcheck import GradcheckPublic
from service.schemas.jobs import history_row
from service.settings import Settings
from service.specs.finetune import load_parent
from service.strict_json import StrictJsonRoute

# Job specs: duplicate keys refused, large bodies parsed and validated off the event loop.
router = APIRouter(prefix="/v1/jobs", tags=["jobs"], route_class=StrictJsonRoute)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key", max_length=200,
        description="Repeat a submit safely: the same key and body return the first job",
    ),
]
MAX_INT32 = tables.MAX_INTEGER  # an INTEGER column: larger numbers cannot be bound
AfterQuery = Annotated[
    int | None,
    Query(
        ge=0, le=MAX_INT32,
        description=(
            "Only epochs after this one (an epoch number, 0 to 2147483647; omit or 0 for all;"
            " a negative or larger number is refused with 422)"
        ),
    ),
]
StatusQuery = Annotated[
    str | None,
    Query(
        pattern="^(queued|running|succeeded|failed|cancelled)$",
        description="Only jobs in this status",
    ),
]


def _resolve(
    db: Database, settings: Settings, tenant_id: str, submit: specs.JobSubmit
) -> tuple[dict[str, Any], specs.TrainedAs]:
    with db.read() as session:
        dataset = dataset_store.get_dataset(
            session, tenant_id=tenant_id, dataset_id=submit.dataset_id
        )
        parent = load_parent(session, tenant_id=tenant_id,
                             model_id=submit.training.init_from_model)
        task = submit.task or (parent.task if parent is not None else None)
        targets = (dataset_store.read_targets(db, dataset)
                   if specs.needs_targets(task, dataset) else None)
        spec = specs.resolve_spec(submit, dataset, settings=settings, targets=targets,
                                  parent=parent)
        return spec, specs.trained_as(dataset, spec["task"], targets)


@router.post(
    "",
    status_code=HTTP_202_ACCEPTED,
    response_model=JobPublic,
    responses={
        200: {"model": JobPublic, "description": "Replayed: the job this Idempotency-Key made"},
        **problem_responses(400, 401, 404, 409, 413, 422, 429),
    },
    summary="Submit a training job",
)
def submit_job(
    submit: specs.JobSubmit,
    response: Response,
    caller: CallerDep,
    db: DbDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> JobPublic:
    spec, dataset = _resolve(db, settings, caller.tenant_id, submit)
    specs.enforce_budget(specs.estimate(spec, dataset, settings=settings), settings)
    job, created = store.submit(
        db, settings=settings, tenant_id=caller.tenant_id, kind="train",
        dataset_id=submit.dataset_id, spec=spec, priority=submit.priority,
        max_attempts=submit.max_attempts, idempotency_key=idempotency_key,
        request_sha256=specs.request_sha256(submit),
        progress_epochs=spec["training"]["epochs"],
    )
    response.status_code = 202 if created else 200
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return JobPublic.of(job)


@router.post(
    "/estimate",
    response_model=EstimatePublic,
    responses=problem_responses(400, 401, 404, 413, 422),
    summary="What a job would cost, without queueing it",
)
def estimate_job(
    submit: specs.JobSubmit, caller: CallerDep, db: DbDep, settings: SettingsDep
) -> EstimatePublic:
    spec, dataset = _resolve(db, settings, caller.tenant_id, submit)
    cost = specs.estimate(spec, dataset, settings=settings)
    specs.enforce_budget(cost, settings)
    return EstimatePublic.model_validate(cost)


@router.post(
    "/gradcheck",
    response_model=GradcheckPublic,
    responses=problem_responses(400, 401, 404, 413, 422, 429),
    summary="Check backprop against finite differences on a sample of the job's data",
)
def gradcheck_job(
    submit: specs.JobSubmit, caller: CallerDep, db: DbDep, settings: SettingsDep, request: Request,
    rows: Annotated[int, Query(ge=1, le=gradcheck.MAX_ROWS,
                               description="Training rows sampled")] = gradcheck.DEFAULT_ROWS,
    parameters: Annotated[int, Query(
        ge=1, le=gradcheck.MAX_PER_LAYER,
        description="Weights, and as many biases, sampled per layer",
    )] = gradcheck.DEFAULT_PER_LAYER,
) -> GradcheckPublic:
    spec, view = _resolve(db, settings, caller.tenant_id, submit)
    gradcheck.check_limits(spec, view, rows, parameters)
    with gradcheck.slot(request.app.state, settings.gradcheck_concurrency):
        with db.read() as session:
            dataset = dataset_store.get_dataset(session, tenant_id=caller.tenant_id,
                                                dataset_id=submit.dataset_id, with_content=True)
            session.expunge(dataset)
        report = gradcheck.gradcheck_job(spec, dataset, rows=rows, per_layer=parameters, db=db)
    return GradcheckPublic.model_validate(report)


@router.get("", response_model=Page[JobPublic], responses=problem_responses(401, 422))
def list_jobs(
    caller: CallerDep,
    db: DbDep,
    status: StatusQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[JobPublic]:
    rows, next_cursor = store.list_jobs(
        db, tenant_id=caller.tenant_id, status=status, limit=limit, cursor=cursor
    )
    return Page[JobPublic](data=[JobPublic.of(r) for r in rows], next=next_cursor)


def _json(model: Any) -> Response:
    """A response model's JSON as FastAPI would write it, without validating it again."""
    return Response(model.model_dump_json(), media_type="application/json")


@router.get("/{job_id}", response_model=JobPublic, responses=problem_responses(401, 404, 422))
async def get_job(job_id: str, caller: CallerDep, request: Request) -> Response:
    known_id(job_id, "job", "job")  # not an id: not found, without a query

    def read(db: Database) -> Response:  # a row, not an ORM object
        return _json(JobPublic.of(store.job_row(db, tenant_id=caller.tenant_id, job_id=job_id)))

    db: Database = request.app.state.db
    if db.is_sqlite:
        # One indexed row of a local file (~100 µs; WAL readers never wait for the writer), on
        # the event loop's own connections: the hop to a worker thread and back costs more,
        # and under load each hop is a GIL handover the event loop waits for.
        return read(request.app.state.loop_db)
    return await run_in_threadpool(read, db)  # PostgreSQL: a network round trip


@router.get(
    "/{job_id}/history", response_model=HistoryPublic, responses=problem_responses(401, 404, 422)
)
async def get_history(
    job_id: str,
    caller: CallerDep,
    db: DbDep,
    after: AfterQuery = None,
    diagnostics: Annotated[bool, Query(description=(
        "Include each epoch's per-layer `diagnostics` block (docs/api.md \"Diagnostics\")"
    ))] = False,
) -> Response:
    known_id(job_id, "job", "job")

    def read() -> Response:
        rows = store.history_rows(db, tenant_id=caller.tenant_id, job_id=job_id, after=after)
        # Rows as plain dicts straight to JSON: a long history is thousands of epochs, each
        # validated twice by pydantic before (HistoryPublic, then FastAPI's response check).
        data = [history_row(r, diagnostics) for r in rows]
        return Response(fastjson.dumps({"data": data}), media_type="application/json")

    return await run_in_threadpool(read)


@router.get(
    "/{job_id}/attempts", response_model=AttemptsPublic,
    responses=problem_responses(401, 404, 422),
    summary="A job's attempts: which worker ran each and how it ended (e.g. WORKER_LOST)",
)
def get_attempts(job_id: str, caller: CallerDep, db: DbDep) -> AttemptsPublic:
    known_id(job_id, "job", "job")
    with db.read() as session:
        rows = store.attempts(session, tenant_id=caller.tenant_id, job_id=job_id)
        return AttemptsPublic(data=[AttemptPublic.of(r) for r in rows])


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Server-sent events: `status` (a job) and `epoch` (a history row)",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **problem_responses(401, 404, 422, 429),
    },
    summary="Stream a job's status changes and epochs (SSE)",
)
async def job_events(
    job_id: str,
    request: Request,
    caller: CallerDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    known_id(job_id, "job", "job")
    db: Database = request.app.state.db  # (DbDep would cost a worker-thread hop)
    hub: EventHub = request.app.state.event_hub
    epoch, signature = events.parse_event_id(last_event_id)
    watch = hub.open(  # 429 beyond the caps, before any query
        caller, job_id, epoch=epoch, signature=signature,
        poll_seconds=request.app.state.events_poll_seconds,
    )
    try:  # 404 before streaming
        await run_in_threadpool(store.read_job, db, tenant_id=caller.tenant_id, job_id=job_id)
    except BaseException:
        watch.close()
        raise
    return events.EventStreamResponse(watch)


@router.post(
    "/{job_id}/cancel",
    response_model=JobPublic,
    responses=problem_responses(401, 404, 409, 422),
    summary="Cancel a job (queued: at once; running: within a few seconds)",
)
def cancel_job(job_id: str, caller: CallerDep, db: DbDep) -> JobPublic:
    known_id(job_id, "job", "job")  # not an id: not found, without a query
    return JobPublic.of(store.cancel(db, tenant_id=caller.tenant_id, job_id=job_id))
