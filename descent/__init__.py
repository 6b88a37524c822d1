"""The Descent Python client and the user side of the `descent` command line (HTTP only)."""

from .api import Client
from .errors import DescentAPIError, DescentConnectionError
from .sweeps import Sweep, Trial
from .types import (
    Alias,
    Dataset,
    Estimate,
    Evaluation,
    Event,
    HistoryRow,
    Job,
    Model,
    Prediction,
    PredictResult,
)

__all__ = [
    "Alias",
    "Client",
    "Dataset",
    "DescentAPIError",
    "DescentConnectionError",
    "Estimate",
    "Evaluation",
    "Event",
    "HistoryRow",
    "Job",
    "Model",
    "PredictResult",
    "Prediction",
    "Sweep",
    "Trial",
]
