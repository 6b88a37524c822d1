"""The HTTP routes, one module per resource; `router` includes them all (and the dashboard and
the ``/docs`` page)."""

from fastapi import APIRouter

from service import apidocs, dashboard
from service.routes import (
    aliases,
    datasets,
    evaluations,
    health,
    jobs,
    models,
    onnx,
    predict,
    predictions,
)

router = APIRouter()
# aliases before models and predict: their /v1/models/{model_id}… would take "aliases".
for module in (health, datasets, jobs, aliases, models, predict, evaluations, onnx, predictions,
               dashboard, apidocs):
    router.include_router(module.router)
