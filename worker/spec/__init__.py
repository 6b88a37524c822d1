"""The job spec, defined once (pure Python): fields, defaults, bounds and the rules between them.

``worker.nn`` fills and checks its ``network`` and ``training`` objects here; the API derives its
request models and JSON schema from the same declarations (``service.specs.models``); the
estimate and the CLI read the defaults. See ``job`` for the declarations and ``rules`` for the
output/loss pairing.
"""

from .job import (
    DEFAULT_HIDDEN_LAYERS,
    DTYPES,
    EARLY_STOPPING,
    HIDDEN_ACTIVATIONS,
    INITS,
    JOB,
    LAYER,
    LOSSES,
    NETWORK,
    OPTIMIZER,
    OUTPUT_ACTIVATIONS,
    REQUIRED_ACTIVATION,
    TASK_DEFAULTS,
    TASKS,
    TRAINING,
    parameter_count,
    spec_defaults,
)
from .preprocessing import PREPROCESSING
from .rules import fill_network, fill_training, network_and_errors, output_and_loss
from .schema import SpecError, loc_text

__all__ = [
    "DEFAULT_HIDDEN_LAYERS",
    "DTYPES",
    "EARLY_STOPPING",
    "HIDDEN_ACTIVATIONS",
    "INITS",
    "JOB",
    "LAYER",
    "LOSSES",
    "NETWORK",
    "OPTIMIZER",
    "OUTPUT_ACTIVATIONS",
    "PREPROCESSING",
    "REQUIRED_ACTIVATION",
    "TASKS",
    "TASK_DEFAULTS",
    "TRAINING",
    "SpecError",
    "fill_network",
    "fill_training",
    "loc_text",
    "network_and_errors",
    "output_and_loss",
    "parameter_count",
    "spec_defaults",
]
