"""Fitted preprocessing, beside the engine (pure NumPy, nothing else of ours imported).

Everything a model does to raw data before its network sees it, in one home: the train/validation
split (``split``), imputation (``impute``), one-hot encoding (``onehot``), the column steps
together (``preprocess``), matching columns by name (``schema``), standardization
(``standardize``), class labels (``labels``), regression targets (``targets``: scaling, and
reading labels as values or values as labels), and the
``Pipeline`` that is fitted on the training rows, stored with the model and applied identically
by training, online predict, batch predict and the ONNX export.
"""

from .impute import NumericImputer
from .labels import decode, encode, one_hot
from .onehot import OneHot
from .pipeline import Pipeline
from .preprocess import Preprocessor, UnknownCategory
from .schema import KindMismatch, MissingColumn, conform
from .split import split_rows
from .standardize import Standardizer
from .table import Column, Table
from .targets import TargetScaler, as_labels, as_multilabel, as_values

__all__ = [
    "Column", "KindMismatch", "MissingColumn", "NumericImputer", "OneHot", "Pipeline",
    "Preprocessor", "Standardizer", "Table", "TargetScaler", "UnknownCategory", "as_labels",
    "as_multilabel",
    "as_values", "conform", "decode", "encode", "one_hot", "split_rows",
]
