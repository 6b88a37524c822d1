"""The job spec's ``preprocessing`` object: how a model's column steps are fitted (docs/tables.md).

Every field has a default a user never has to touch; ``worker.pipeline.preprocess`` fits the
steps from the filled object and ``worker.pipeline.impute`` / ``onehot`` give the formulas.
"""

from __future__ import annotations

from .schema import Boolean, Choice, Integer, Number, Object

NUMERIC_IMPUTATIONS = ("mean", "median", "constant")
CATEGORICAL_IMPUTATIONS = ("most_frequent", "constant")
UNKNOWN_CATEGORIES = ("ignore", "error")

PREPROCESSING = Object(name="PreprocessingSpec", default={}, doc=(
    "How missing cells and categorical columns become the network's inputs (fitted on the "
    "training rows only)"), fields={
    "numeric_imputation": Choice(
        "mean", choices=NUMERIC_IMPUTATIONS, what="numeric imputation",
        doc="A missing numeric cell takes its column's training mean, median, or fill_value"),
    "fill_value": Number(0.0, doc="The value numeric_imputation 'constant' fills in"),
    "categorical_imputation": Choice(
        "most_frequent", choices=CATEGORICAL_IMPUTATIONS, what="categorical imputation",
        doc="A missing categorical cell takes the most frequent training category, or the "
            "category \"missing\" (constant)"),
    "missing_indicators": Boolean(
        True, doc="Add a 0/1 input per numeric column that had missing cells in training"),
    "unknown": Choice(
        "ignore", choices=UNKNOWN_CATEGORIES, what="unknown-category handling",
        doc="A category unseen in training: all-zero one-hot (ignore) or a 422 (error)"),
    "max_categories": Integer(
        None, nullable=True, ge=2, hint="an integer of at least 2",
        doc="One-hot columns per categorical column at most; rarer categories share \"other\" "
            "(null = no limit)"),
})
