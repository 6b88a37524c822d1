"""Request and response models of the HTTP API (docs/api.md), one module per resource."""

from service.schemas.common import Page
from service.schemas.datasets import DatasetPublic, DatasetSummary
from service.schemas.jobs import (
    AttemptPublic,
    AttemptsPublic,
    EstimatePublic,
    HistoryPublic,
    HistoryRow,
    JobError,
    JobProgress,
    JobPublic,
)
from service.schemas.models import BatchPredictCreate, ModelPublic, PredictCreate, PredictPublic
from service.schemas.predictions import PredictionPublic

__all__ = [
    "AttemptPublic",
    "AttemptsPublic",
    "BatchPredictCreate",
    "DatasetPublic",
    "DatasetSummary",
    "EstimatePublic",
    "HistoryPublic",
    "HistoryRow",
    "JobError",
    "JobProgress",
    "JobPublic",
    "ModelPublic",
    "Page",
    "PredictCreate",
    "PredictPublic",
    "PredictionPublic",
]
