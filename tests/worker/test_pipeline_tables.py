"""The column steps of ``worker.pipeline``: imputation, indicators, one-hot, grouping, unknown
categories, storage without pickle, and matching columns by name."""

from __future__ import annotations

import numpy as np
import pytest

from worker.pipeline import (
    Column,
    KindMismatch,
    MissingColumn,
    NumericImputer,
    OneHot,
    Pipeline,
    Preprocessor,
    Table,
    UnknownCategory,
    conform,
    split_rows,
)
from worker.pipeline.preprocess import encoded_width
from worker.pipeline.schema import as_kind, number_text

NAN = np.nan


def categorical(name: str, cells: list[str | None]) -> Column:
    categories = sorted({c for c in cells if c is not None})
    codes = np.array([-1 if c is None else categories.index(c) for c in cells], np.int32)
    return Column(name, "categorical", codes, tuple(categories))


def numeric(name: str, cells: list[float]) -> Column:
    return Column(name, "numeric", np.array(cells, np.float64))


def test_numeric_imputation_strategies_and_indicators() -> None:
    X = np.array([[1.0, NAN, 5.0], [NAN, NAN, 7.0], [4.0, NAN, 9.0], [7.0, NAN, 100.0]])
    mean = NumericImputer.fit(X, strategy="mean", fill_value=-1.0)
    assert mean.fill.tolist() == [4.0, -1.0, 30.25]  # an all-missing column takes fill_value
    assert mean.indicated.tolist() == [0, 1]  # columns with missing training cells only
    median = NumericImputer.fit(X, strategy="median")
    assert median.fill.tolist() == [4.0, 0.0, 8.0]
    constant = NumericImputer.fit(X, strategy="constant", fill_value=2.5, indicators=False)
    assert constant.fill.tolist() == [2.5, 2.5, 2.5] and constant.indicated.size == 0
    filled, m = mean.transform(np.array([[NAN, 3.0, NAN]]))
    assert filled.tolist() == [[4.0, 3.0, 30.25]] and m.tolist() == [[1.0, 0.0]]


def test_one_hot_imputes_groups_and_handles_unknown() -> None:
    column = categorical("c", ["b", "a", "b", None, "c", "b", "a", "d"])
    enc = OneHot.fit(column.values, column.categories or ())
    assert enc.fill == "b" and enc.kept == ("a", "b", "c", "d")
    out = enc.transform(np.array([0, -1, 1]), ("c", "zzz"))
    assert out.tolist() == [[0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]]  # missing → b, unknown → 0
    constant = OneHot.fit(column.values, column.categories or (), strategy="constant")
    assert constant.fill == "missing" and "missing" in constant.kept
    grouped = OneHot.fit(column.values, column.categories or (), max_categories=3)
    # b (4 with the imputed cell) and a (2) kept; c and d share "other"
    assert grouped.kept == ("a", "b") and grouped.grouped == ("c", "d") and grouped.width == 3
    assert grouped.transform(np.array([0, 1, 2]), ("d", "a", "new")).tolist() == [
        [0, 0, 1], [1, 0, 0], [0, 0, 0]]
    strict = OneHot.fit(column.values, column.categories or (), unknown="error")
    with pytest.raises(ValueError, match="'new' was not seen"):
        strict.transform(np.array([0, 1]), ("a", "new"))


def table() -> Table:
    return Table((
        numeric("age", [20.0, NAN, 40.0, 60.0]),
        categorical("city", ["x", "y", None, "y"]),
        numeric("income", [1.0, 2.0, 3.0, 4.0]),
    ))


def test_pipeline_layout_standardizes_the_numeric_block_only() -> None:
    pipeline = Pipeline.fit(table(), standardize=True, dtype="float64")
    assert pipeline.width == 2 + 1 + 2  # age, income | age missing | city x, y
    Z = pipeline.transform(table())
    assert np.allclose(Z[:, :2].mean(axis=0), 0) and np.allclose(Z[:, :2].std(axis=0), 1)
    assert Z[:, 2].tolist() == [0, 1, 0, 0]
    assert Z[:, 3:].tolist() == [[1, 0], [0, 1], [0, 1], [0, 1]]  # missing city → "y"


def test_pipeline_round_trips_through_arrays_without_pickle() -> None:
    pipeline = Pipeline.fit(table(), standardize=True, dtype="float32",
                            preprocessing={"max_categories": 2, "unknown": "error"})
    arrays = pipeline.to_arrays()
    assert all(a.dtype != object for a in arrays.values())
    again = Pipeline.from_arrays(arrays, n_features=3, dtype="float32")
    assert np.array_equal(again.transform(table()), pipeline.transform(table()))
    assert again.columns == [("age", "numeric"), ("city", "categorical"), ("income", "numeric")]
    unseen = Table((numeric("age", [1.0]), categorical("city", ["q"]), numeric("income", [1.0])))
    with pytest.raises(UnknownCategory) as caught:
        again.transform(unseen)
    assert (caught.value.row, caught.value.column) == (0, "city")


def test_fitted_on_the_rows_given_only() -> None:
    rows = np.array([0, 2])
    pipeline = Pipeline.fit(table().take(rows), standardize=False, dtype="float64")
    assert pipeline.preprocessor is not None
    assert pipeline.preprocessor.imputer.fill.tolist() == [30.0, 2.0]
    assert pipeline.preprocessor.encoders[0].kept == ("x",)  # the None row became "x"


def test_conform_matches_by_name_and_converts_kinds() -> None:
    shuffled = Table((
        numeric("income", [5.0]), numeric("extra", [0.0]), categorical("age", ["33"]),
        numeric("city", [12345.0]),
    ))
    columns = [("age", "numeric"), ("city", "categorical"), ("income", "numeric")]
    conformed, ignored = conform(shuffled, columns)
    assert conformed.names == ["age", "city", "income"] and ignored == ["extra"]
    assert conformed.columns[0].values.tolist() == [33.0]
    assert conformed.columns[1].categories == ("12345",)
    with pytest.raises(MissingColumn, match="'age'"):
        conform(Table((numeric("income", [1.0]),)), columns)
    with pytest.raises(KindMismatch, match="row 1, column 'a'"):
        as_kind(categorical("a", ["1", "x"]), "numeric")
    assert number_text(3.0) == "3" and number_text(0.5) == "0.5"


def test_encoded_width_from_a_dataset_schema() -> None:
    schema = [{"kind": "numeric", "missing": 2}, {"kind": "numeric", "missing": 0},
              {"kind": "categorical", "missing": 1, "categories": 5}]
    assert encoded_width(schema) == 2 + 1 + 5
    assert encoded_width(schema, {"missing_indicators": False, "max_categories": 3,
                                  "categorical_imputation": "constant"}) == 2 + 3
    fitted = Preprocessor.fit(table())
    assert fitted.width <= encoded_width(table().schema())


def test_a_train_job_fits_on_its_training_rows_only() -> None:
    from worker.jobs.train import prepare

    n = 50
    ages = np.arange(n, dtype=np.float64)
    ages[::7] = np.nan
    data = Table((numeric("age", ages.tolist()),
                  categorical("c", ["a" if i < 40 else "b" for i in range(n)])))
    config = {"validation_split": 0.2, "standardize": False}
    rng = np.random.default_rng(3)
    prepared = prepare(data, np.zeros((n, 1)), config, rng, np.float64)
    train_rows, _ = split_rows(n, 0.2, np.random.default_rng(3))  # the rows prepare trains on
    pre = prepared.pipeline.preprocessor
    assert pre is not None and prepared.validation is not None
    assert pre.imputer.fill[0] == np.nanmean(ages[train_rows])
    assert prepared.X.shape == (len(train_rows), prepared.pipeline.width)
