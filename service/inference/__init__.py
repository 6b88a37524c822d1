"""Predictions from a stored model: load once, cache, validate inputs, run pipeline + network.

``model`` loads a model into a ``LoadedModel`` (its fitted pipeline and its network), runs it
(``predict``, chunked so that any number of rows uses bounded memory) and caches loaded models
(``ModelCache``); ``inputs`` and ``records`` turn a request's ``inputs`` (rows, or records by
column name) into what the pipeline takes, naming the first bad row or cell. Online predict,
batch predictions and the ONNX export all go through the same ``LoadedModel``.
"""

from service.inference.inputs import check_matrix, numbers_only, validate_inputs
from service.inference.model import (
    LoadedModel,
    ModelCache,
    PredictionError,
    check_workload,
    json_answers,
    load_cached,
    load_model,
    outputs,
    predict,
    to_answers,
)
from service.inference.records import read_inputs

__all__ = [
    "LoadedModel",
    "ModelCache",
    "PredictionError",
    "check_matrix",
    "check_workload",
    "json_answers",
    "load_cached",
    "load_model",
    "numbers_only",
    "outputs",
    "predict",
    "read_inputs",
    "to_answers",
    "validate_inputs",
]
