"""``/v1/sweeps``: create a hyperparameter sweep (its trials are train jobs), list, get, its
trials, cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from starlette.status import HTTP_201_CREATED

from service.deps import CallerDep, CursorQuery, DbDep, LimitQuery, SettingsDep
from service.problems import problem_responses
from service.repository import known_id
from service.repository import sweeps as store
from service.schemas import Page
from service.schemas.common import DEFAULT_LIMIT
from service.schemas.sweeps import SweepPublic, TrialPublic, TrialsPublic
from service.strict_json import StrictJsonRoute
from service.sweeps.config import SweepCreate

router = APIRouter(prefix="/v1/sweeps", tags=["sweeps"], route_class=StrictJsonRoute)


@router.post("", status_code=HTTP_201_CREATED, response_model=SweepPublic,
             responses=problem_responses(400, 401, 404, 413, 422),
             summary="Start a hyperparameter sweep: trials are train jobs, sampled by Optuna")
def create_sweep(body: SweepCreate, response: Response, caller: CallerDep, db: DbDep,
                 settings: SettingsDep) -> SweepPublic:
    sweep = store.create(db, settings=settings, tenant_id=caller.tenant_id, config=body)
    response.headers["Location"] = f"/v1/sweeps/{sweep.id}"
    return SweepPublic.of(*store.read_sweep(db, tenant_id=caller.tenant_id, sweep_id=sweep.id))


@router.get("", response_model=Page[SweepPublic], responses=problem_responses(401, 422))
def list_sweeps(
    caller: CallerDep, db: DbDep, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None,
    status: Annotated[str | None, Query(pattern="^(running|succeeded|failed|cancelled)$",
                                        description="Only sweeps in this status")] = None,
) -> Page[SweepPublic]:
    rows, next_cursor = store.list_sweeps(db, tenant_id=caller.tenant_id, status=status,
                                          limit=limit, cursor=cursor)
    data = [SweepPublic.of(*store.read_sweep(db, tenant_id=caller.tenant_id, sweep_id=r.id))
            for r in rows]
    return Page[SweepPublic](data=data, next=next_cursor)


@router.get("/{sweep_id}", response_model=SweepPublic,
            responses=problem_responses(401, 404, 422))
def get_sweep(sweep_id: str, caller: CallerDep, db: DbDep) -> SweepPublic:
    known_id(sweep_id, "swp", "sweep")
    return SweepPublic.of(*store.read_sweep(db, tenant_id=caller.tenant_id, sweep_id=sweep_id))


@router.get("/{sweep_id}/trials", response_model=TrialsPublic,
            responses=problem_responses(401, 404, 422),
            summary="A sweep's trials with their parameters and metric")
def get_trials(
    sweep_id: str, caller: CallerDep, db: DbDep,
    sort: Annotated[str, Query(pattern="^(number|value|-number|-value)$", description=(
        "`number` (the default), or `value`: best first by the sweep's goal (trials without "
        "a value last); a leading `-` reverses"))] = "number",
) -> TrialsPublic:
    known_id(sweep_id, "swp", "sweep")
    sweep, trials = store.read_sweep(db, tenant_id=caller.tenant_id, sweep_id=sweep_id)
    key = sort.lstrip("-")
    if key == "value":
        sign = 1.0 if sweep.config["metric"]["goal"] == "minimize" else -1.0
        trials.sort(key=lambda t: (t.value is None, sign * (t.value or 0.0), t.number))
    if sort.startswith("-"):
        trials.reverse()
    return TrialsPublic(data=[TrialPublic.of(t) for t in trials])


@router.post("/{sweep_id}/cancel", response_model=SweepPublic,
             responses=problem_responses(401, 404, 409, 422),
             summary="Cancel a sweep: no more trials; queued ones cancelled, running ones stopped")
def cancel_sweep(sweep_id: str, caller: CallerDep, db: DbDep) -> SweepPublic:
    known_id(sweep_id, "swp", "sweep")
    store.cancel(db, tenant_id=caller.tenant_id, sweep_id=sweep_id)
    return SweepPublic.of(*store.read_sweep(db, tenant_id=caller.tenant_id, sweep_id=sweep_id))
