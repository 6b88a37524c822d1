"""The HTTP routes, one module per resource; `router` includes them all (and the dashboard and
the ``/docs`` page)."""

from fastapi import APIRouter

from service import apidocs, dashboard
from service.routes import (
    datasets,
    evaluations,
    health,
    jobs,
    models,
    onnx,
    predict,
    predictions,
    sweeps,
    uploads,
)

router = APIRouter()
for module in (health, datasets, jobs, models, predict, evaluations, onnx, predictions,
               sweeps, dashboard, apidocs, uploads):
    router.include_router(module.router)
