"""``/v1/predictions``: stored predictions, a page of rows at a time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service import tables
from service.deps import CallerDep, DbDep
from service.problems import problem_responses
from service.repository import predictions as store
from service.schemas import PredictionPublic
from service.schemas.common import json_safe

router = APIRouter(prefix="/v1/predictions", tags=["predictions"])

MAX_ROWS = 10_000
MAX_INT32 = tables.MAX_INTEGER  # an INTEGER column: larger numbers cannot be bound


@router.get(
    "/{prediction_id}",
    response_model=PredictionPublic,
    responses=problem_responses(401, 404, 422),
)
def get_prediction(
    prediction_id: str,
    caller: CallerDep,
    db: DbDep,
    offset: Annotated[
        int, Query(ge=0, le=MAX_INT32, description="First row (0 to 2147483647)")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_ROWS, description="Rows per page")] = MAX_ROWS,
) -> PredictionPublic:
    head, rows = store.read_prediction(
        db, tenant_id=caller.tenant_id, prediction_id=prediction_id, offset=offset, limit=limit
    )
    has_probabilities = any(r.probabilities is not None for r in rows)
    end = offset + len(rows)
    return PredictionPublic(
        id=head.id, model_id=head.model_id, job_id=head.job_id, n_rows=head.n_rows,
        ignored_columns=head.ignored_columns,
        offset=offset, limit=limit, next_offset=end if end < head.n_rows else None,
        predictions=json_safe([r.prediction for r in rows]),
        probabilities=json_safe([r.probabilities for r in rows]) if has_probabilities else None,
        created_at=head.created_at,
    )
