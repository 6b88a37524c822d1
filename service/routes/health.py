"""Operations: ``/healthz`` (process up), ``/readyz`` (database and schema), ``/metrics``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from sqlalchemy import text

from service import migration
from service.db import Database
from service.deps import DbDep
from service.errors import DescentError
from service.problems import problem_responses

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str


class NotReady(DescentError):
    status = 503
    title = "Not ready"


@router.get("/healthz", response_model=Health)
async def healthz() -> Response:
    # async and pre-serialized: answers even when every worker thread is busy.
    return Response(b'{"status":"ok"}', media_type="application/json")


def _check_ready(db: Database) -> None:
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        migration.check_schema(db)
    except migration.SchemaBehindError as exc:
        raise NotReady(str(exc)) from exc
    except Exception as exc:
        raise NotReady(f"the database is not reachable: {type(exc).__name__}") from exc


@router.get("/readyz", response_model=Health, responses=problem_responses(503))
def readyz(db: DbDep) -> Health:
    _check_ready(db)
    return Health(status="ready")


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def metrics(request: Request) -> Response:
    body, content_type = request.app.state.metrics.render()
    return Response(body, media_type=content_type)
