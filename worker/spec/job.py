"""The job spec (docs/api.md "Jobs"), declared once: every field, its default and its bounds.

The engine fills and checks ``network`` and ``training`` from these declarations; the API derives
its request models, JSON schema and 422 locations from them (``service.specs.models``); the
estimate and the CLI read their defaults here. Only checks that need the data (the dataset's
targets, its row count) or the service's limits (settings) live elsewhere, in
``service.specs.resolve``.

Learning-rate defaults: ``0.001`` for adam and rmsprop, ``0.01`` for sgd and momentum (plain
gradient steps need a larger step to make progress in 50 epochs).
"""

from __future__ import annotations

from typing import Any

from .controls import DROPOUT, TRAINING_CONTROLS, FilledList
from .preprocessing import PREPROCESSING
from .schema import Boolean, Choice, Integer, Number, Object, Tagged, Text
from .weights import INITIAL_WEIGHTS

TASKS = ("classification", "regression", "multilabel")
HIDDEN_ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu")
OUTPUT_ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "softmax")
LOSSES = ("mse", "binary_cross_entropy", "cross_entropy")
INITS = ("auto", "he", "glorot")
DTYPES = ("float32", "float64")
MAX_SEED = 2**63 - 1  # numpy's SeedSequence takes any non-negative int; JSON clients need int64

# The output activation and loss a task gets when the spec names neither.
TASK_DEFAULTS = {"classification": ("softmax", "cross_entropy"), "regression": ("identity", "mse"),
                 "multilabel": ("sigmoid", "binary_cross_entropy")}
# loss -> the only output activation it may follow (mse may follow any)
REQUIRED_ACTIVATION = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}
# output activation -> the loss it implies when only it is given (anything else: mse)
PARTNER_LOSS = {"softmax": "cross_entropy", "sigmoid": "binary_cross_entropy"}

LAYER = Object(name="LayerSpec", fields={
    "units": Integer(ge=1, hint="a positive integer", doc="Units of this dense layer"),
    "activation": Choice(
        "relu", choices=HIDDEN_ACTIVATIONS, what="activation",
        refused={"softmax": "softmax is only allowed as network.output_activation"},
    ),
    "dropout": DROPOUT,
})
# docs/api.md's example network: the one default, the engine's and the service's alike.
DEFAULT_HIDDEN_LAYERS = [{"units": 64, "activation": "relu"}, {"units": 32, "activation": "tanh"}]

NETWORK = Object(name="NetworkSpec", default={}, fields={
    "hidden_layers": FilledList(
        DEFAULT_HIDDEN_LAYERS, item=LAYER,
        doc="Zero or more dense layers; the output layer is sized from the data",
    ),
    "output_activation": Choice(None, nullable=True, choices=OUTPUT_ACTIVATIONS,
                                what="activation", doc="Default from the loss, else the task"),
    "loss": Choice(None, nullable=True, choices=LOSSES, what="loss",
                   doc="Default from the output activation, else the task"),
    "init": Choice("auto", choices=INITS, what="init",
                   doc="auto: He for the relu family, Glorot otherwise"),
    "initial_weights": INITIAL_WEIGHTS,
})

_RATE = "Step size"
OPTIMIZER = Tagged(
    {"name": "adam"}, tag="name", what="optimizer", default_tag="adam",
    doc="An optimizer object, or just its name (\"sgd\"); without a name, adam",
    variants={
        "sgd": Object(name="SGD", fields={"learning_rate": Number(0.01, gt=0, doc=_RATE)}),
        "momentum": Object(name="Momentum", fields={
            "learning_rate": Number(0.01, gt=0, doc=_RATE),
            "beta": Number(0.9, ge=0, lt=1),
        }),
        "rmsprop": Object(name="RMSprop", fields={
            "learning_rate": Number(0.001, gt=0, doc=_RATE),
            "beta": Number(0.9, ge=0, lt=1),
            "epsilon": Number(1e-8, gt=0),
        }),
        "adam": Object(name="Adam", fields={
            "learning_rate": Number(0.001, gt=0, doc=_RATE),
            "beta1": Number(0.9, ge=0, lt=1),
            "beta2": Number(0.999, ge=0, lt=1),
            "epsilon": Number(1e-8, gt=0),
        }),
    },
)

EARLY_STOPPING = Object(name="EarlyStopping", default={}, nullable=True,
                        doc="Stop when the validation loss stops improving (null = off)", fields={
    "patience": Integer(10, ge=1, doc="Epochs without improvement before stopping"),
    "min_delta": Number(0.0, ge=0, doc="Smallest decrease that counts as an improvement"),
    "restore_best": Boolean(True, doc="End with the weights of the best epoch"),
})

TRAINING = Object(name="TrainingSpec", default={}, fields={
    "epochs": Integer(50, ge=1),
    "batch_size": Integer(32, ge=1),
    "shuffle": Boolean(True),
    "seed": Integer(0, ge=0, le=MAX_SEED),
    "dtype": Choice("float32", choices=DTYPES, what="dtype"),
    "optimizer": OPTIMIZER,
    "weight_decay": Number(0.0, ge=0, doc="L2 penalty on the weights (not the biases)"),
    "validation_split": Number(0.1, nullable=True, ge=0, lt=0.9,
                               doc="Fraction of rows held out for validation (null = none)"),
    "standardize": Boolean(True, doc="Scale each input column to mean 0 and variance 1"),
    "standardize_targets": Boolean(True, doc=(
        "Regression: train on targets scaled to mean 0 and variance 1 (fitted on the "
        "training rows); predictions are scaled back. Ignored for classification")),
    "early_stopping": EARLY_STOPPING,
    **TRAINING_CONTROLS,
    "init_from_model": Text(None, nullable=True, min_length=1, max_length=40, doc=(
        "Fine-tune: start from this model's weights and keep its fitted preprocessing "
        "(a model of yours, trained on the same columns; null = a new model)")),
})

JOB = Object(name="JobSubmit", fields={
    "dataset_id": Text(min_length=1, max_length=40),
    "task": Choice(None, nullable=True, choices=TASKS, what="task",
                   doc="Inferred from the dataset's target_kind when omitted"),
    "network": NETWORK,
    "training": TRAINING,
    "preprocessing": PREPROCESSING,
    "max_attempts": Integer(3, ge=1, le=10, doc="Attempts before the job fails for good"),
    "priority": Integer(0, ge=-100, le=100,
                        doc="Higher runs first among this tenant's queued jobs"),
})


def parameter_count(sizes: list[int]) -> int:
    """Weights and biases of dense layers ``sizes[0] → sizes[1] → … → sizes[-1]``:
    ``Σ fan_in · fan_out + fan_out``."""
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False))


def spec_defaults() -> dict[str, Any]:
    """``{"network": {…}, "training": {…}}`` with every default filled (the CLI shows them)."""
    return {"network": NETWORK.default_value(), "training": TRAINING.default_value()}
