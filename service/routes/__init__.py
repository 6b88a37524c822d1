"""The HTTP routes, one module per resource; `router` includes them all."""

from fastapi import APIRouter

from service.routes import datasets, health, jobs, models, predictions

router = APIRouter()
for module in (health, datasets, jobs, models, predictions):
    router.include_router(module.router)
