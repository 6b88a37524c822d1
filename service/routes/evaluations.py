"""``/v1/models/{id}/evaluations`` and ``/v1/evaluations/{id}``: a model's reports on datasets
with targets. Small datasets (``evaluate_inline_rows``) are evaluated in the request (201);
larger ones by an ``evaluate`` job (202, the evaluation pending until it succeeds), and so are
small ones while ``evaluate_inline_concurrency`` evaluations run in the process already (each
decodes its dataset whole: unbounded, 20 at once took 1.3 GB)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.status import HTTP_201_CREATED, HTTP_202_ACCEPTED

from service import evaluation, inline_slots, tables
from service.db import Database
from service.deps import CallerDep, CursorQuery, DbDep, LimitQuery, SettingsDep
from service.errors import InvalidInput, field_error
from service.problems import problem_responses
from service.repository import datasets as dataset_store
from service.repository import evaluations as store
from service.repository import jobs as job_store
from service.repository import models as model_store
from service.schemas.common import DEFAULT_LIMIT, Page
from service.schemas.evaluations import EvaluationCreate, EvaluationPublic

router = APIRouter(tags=["evaluations"])


def _refuse(exc: evaluation.EvaluationProblem) -> InvalidInput:
    return InvalidInput(str(exc), errors=[field_error(["body", "dataset_id"], str(exc))])


def _inline(db: Database, model: tables.Model, dataset_id: str, tenant_id: str
            ) -> tables.Evaluation:
    with db.read() as session:
        dataset = dataset_store.get_dataset(session, tenant_id=tenant_id, dataset_id=dataset_id,
                                            with_content=True)
    model = model_store.read_model(db, tenant_id=tenant_id, model_id=model.id, with_weights=True)
    try:
        report = evaluation.evaluate(model, dataset, db=db)
    except evaluation.EvaluationProblem as exc:
        raise _refuse(exc) from None
    return store.add(db, tenant_id=tenant_id, model_id=model.id, dataset_id=dataset.id,
                     n_rows=dataset.n_rows, report=report)


@router.post(
    "/v1/models/{model_id}/evaluations",
    status_code=HTTP_201_CREATED,
    response_model=EvaluationPublic,
    responses={202: {"description": "Queued: an evaluate job computes the report",
                     "model": EvaluationPublic},
               **problem_responses(400, 401, 404, 422, 429)},
    summary="Evaluate a model on a dataset with targets (inline when small, else a job)",
)
async def create_evaluation(model_id: str, body: EvaluationCreate, caller: CallerDep,
                            db: DbDep, settings: SettingsDep, request: Request,
                            response: Response) -> EvaluationPublic:
    return await run_in_threadpool(_create, model_id, body, caller.tenant_id, db, settings,
                                   request.app.state, response)


def _create(model_id: str, body: EvaluationCreate, tenant_id: str, db: Database,
            settings: SettingsDep, state: object, response: Response) -> EvaluationPublic:
    with db.read() as session:
        model = model_store.get_model(session, tenant_id=tenant_id, model_id=model_id)
        dataset = dataset_store.get_dataset(session, tenant_id=tenant_id,
                                            dataset_id=body.dataset_id)
    try:
        evaluation.check(model, dataset)
    except evaluation.EvaluationProblem as exc:
        raise _refuse(exc) from None
    if dataset.n_rows <= settings.evaluate_inline_rows:
        with inline_slots.held(state, "evaluate", settings.evaluate_inline_concurrency) as got:
            if got:
                return EvaluationPublic.of(_inline(db, model, dataset.id, tenant_id))
    row = store.add(db, tenant_id=tenant_id, model_id=model.id, dataset_id=dataset.id,
                    n_rows=dataset.n_rows, report=None)
    job = None
    try:
        job, _ = job_store.submit(
            db, settings=settings, tenant_id=tenant_id, kind="evaluate", dataset_id=dataset.id,
            model_id=model.id, spec={"model_id": model.id, "evaluation_id": row.id},
            max_attempts=3)
    finally:
        store.attach_job(db, row, job.id if job is not None else None)
    response.status_code = HTTP_202_ACCEPTED
    return EvaluationPublic.of(row, job)


@router.get("/v1/models/{model_id}/evaluations", response_model=Page[EvaluationPublic],
            responses=problem_responses(401, 404, 422))
def list_evaluations(model_id: str, caller: CallerDep, db: DbDep,
                     limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
                     ) -> Page[EvaluationPublic]:
    model_store.read_model(db, tenant_id=caller.tenant_id, model_id=model_id)
    rows, next_cursor = store.list_for_model(db, tenant_id=caller.tenant_id, model_id=model_id,
                                             limit=limit, cursor=cursor)
    return Page[EvaluationPublic](data=[EvaluationPublic.of(*r) for r in rows], next=next_cursor)


@router.get("/v1/evaluations/{evaluation_id}", response_model=EvaluationPublic,
            responses=problem_responses(401, 404, 422))
def get_evaluation(evaluation_id: str, caller: CallerDep, db: DbDep) -> EvaluationPublic:
    return EvaluationPublic.of(*store.read(db, tenant_id=caller.tenant_id,
                                           evaluation_id=evaluation_id))
