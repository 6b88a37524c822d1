"""service.inference: loading stored models, validating inputs, predicting, the model cache."""

from __future__ import annotations

import sys
import threading
from typing import Any

import numpy as np
import pytest

from service import artifacts, tables
from service.errors import InvalidInput, NotFound
from service.inference import LoadedModel, ModelCache, load_model, predict, validate_inputs
from worker.nn import Network

HIDDEN = [{"units": 8, "activation": "tanh"}]


def make_model(
    *,
    task: str = "classification",
    n_features: int = 4,
    n_outputs: int = 3,
    classes: list[Any] | None = None,
    dtype: str = "float64",
    standardize: bool = True,
    model_id: str = "mdl_1",
    tenant_id: str = "ten_1",
    output: str | None = None,
) -> tuple[tables.Model, Network]:
    network: dict[str, Any] = {"hidden_layers": HIDDEN}
    if output is not None:
        network["output_activation"] = output
    net = Network.from_spec(network, n_features, n_outputs, seed=3, dtype=dtype, task=task)
    if standardize:
        net.standardization = (np.linspace(-1, 1, n_features), np.linspace(0.5, 2, n_features))
    weights, sha = artifacts.encode_weights(net.params, net.standardization)
    model = tables.Model(
        id=model_id,
        tenant_id=tenant_id,
        task=task,
        spec={"task": task, "network": net.spec, "training": {"dtype": dtype}},
        n_features=n_features,
        n_targets=1 if task == "classification" else n_outputs,
        classes=(classes or ["a", "b", "c"][:n_outputs]) if task == "classification" else None,
        weights=weights,
        weights_sha256=sha,
    )
    return model, net


def rows(n: int, d: int = 4, seed: int = 0) -> list[list[float]]:
    return np.random.default_rng(seed).normal(size=(n, d)).tolist()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("standardize", [True, False])
def test_classification_round_trip(dtype: str, standardize: bool) -> None:
    model, net = make_model(dtype=dtype, standardize=standardize)
    loaded = load_model(model)
    assert loaded.task == "classification" and loaded.n_features == 4
    assert (loaded.standardization is not None) == standardize
    inputs = rows(5)
    X = validate_inputs(loaded, inputs)
    assert X.dtype == np.float64  # cast to the dtype only after centering (the pipeline)
    predictions, probabilities = predict(loaded, X)
    expected = net.forward(np.array(inputs))
    assert probabilities is not None
    np.testing.assert_array_equal(np.array(probabilities, dtype=dtype), expected)
    assert predictions == [["a", "b", "c"][i] for i in expected.argmax(axis=1)]
    np.testing.assert_allclose(np.sum(probabilities, axis=1), 1, rtol=1e-5)


def test_standardization_applied_exactly_once() -> None:
    model, net = make_model(standardize=True)
    loaded = load_model(model)
    X = np.array(rows(3))
    mean, scale = net.standardization  # type: ignore[misc]
    plain = Network.from_spec(
        {"hidden_layers": HIDDEN}, 4, 3, dtype="float64", task="classification"
    )
    plain.params = net.params
    _, probabilities = predict(loaded, X)
    np.testing.assert_allclose(probabilities, plain.forward((X - mean) / scale), rtol=1e-12)


def test_numeric_classes_come_back_as_labels() -> None:
    model, net = make_model(classes=[3, 7, 11])
    predictions, _ = predict(load_model(model), np.array(rows(6)))
    assert set(predictions) <= {3, 7, 11} and all(type(p) is int for p in predictions)


def test_sigmoid_outputs_are_raw_probabilities() -> None:
    model, net = make_model(output="sigmoid")
    X = np.array(rows(4))
    predictions, probabilities = predict(load_model(model), X)
    np.testing.assert_allclose(probabilities, net.forward(X))  # type: ignore[arg-type]
    assert predictions == [["a", "b", "c"][i] for i in net.forward(X).argmax(axis=1)]


def test_regression_one_target_is_flat() -> None:
    model, net = make_model(task="regression", n_outputs=1)
    X = np.array(rows(3))
    predictions, probabilities = predict(load_model(model), X)
    assert probabilities is None
    assert predictions == net.forward(X)[:, 0].tolist()
    assert all(isinstance(p, float) for p in predictions)


def test_regression_several_targets_are_rows() -> None:
    model, net = make_model(task="regression", n_outputs=2)
    X = np.array(rows(3))
    predictions, probabilities = predict(load_model(model), X)
    assert probabilities is None and predictions == net.forward(X).tolist()


@pytest.mark.parametrize(
    ("inputs", "loc", "words"),
    [
        ([], ["body", "inputs"], ["non-empty"]),
        ("x", ["body", "inputs"], ["non-empty"]),
        ([[1, 2, 3]], ["body", "inputs", 0], ["row 0 has 3 values", "takes 4 features"]),
        ([[1, 2, 3, 4], [1, 2, 3]], ["body", "inputs", 1], ["row 1 has 3 values"]),
        ([1, 2, 3, 4], ["body", "inputs", 0], ["wrap a single row"]),
        ([[1, 2, 3, "x"]], ["body", "inputs", 0, 3], ["row 0, column 3", "'x' is not a number"]),
        ([[1, 2, None, 4]], ["body", "inputs", 0, 2], ["null"]),
        ([[1, 2, 3, True]], ["body", "inputs", 0, 3], ["True"]),
        ([[1, 2, 3, 4], [1, float("nan"), 3, 4]], ["body", "inputs", 1, 1], ["not a finite"]),
        ([[1, 2, 3, float("inf")]], ["body", "inputs", 0, 3], ["not a finite"]),
        ([[1, 2, 3, 10**400]], ["body", "inputs", 0, 3], ["not a finite"]),
    ],
)
def test_validate_inputs_rejections(inputs: Any, loc: list[Any], words: list[str]) -> None:
    loaded = load_model(make_model()[0])
    with pytest.raises(InvalidInput) as info:
        validate_inputs(loaded, inputs)
    assert info.value.errors[0]["loc"] == loc
    for word in words:
        assert word in info.value.detail, info.value.detail


def test_float32_overflow_is_not_finite() -> None:
    loaded = load_model(make_model(dtype="float32")[0])
    with pytest.raises(InvalidInput, match="row 0, column 1"):
        validate_inputs(loaded, [[1, 1e300, 3, 4]])


def test_outputs_that_overflow_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Finite float32 inputs can still overflow the network's outputs: a 422, not nulls."""
    monkeypatch.setattr(sys.modules[__name__], "HIDDEN", [{"units": 8, "activation": "relu"}])
    loaded = load_model(make_model(dtype="float32", standardize=False, task="regression")[0])
    X = validate_inputs(loaded, [[0.1, 0.2, 0.3, 0.4], [3e38, 3e38, 3e38, 3e38]])
    with pytest.raises(InvalidInput, match="row 1: the model's outputs overflow") as info:
        predict(loaded, X)
    assert info.value.errors[0]["loc"] == ["body", "inputs", 1]


def test_big_integers_convert() -> None:
    loaded = load_model(make_model()[0])
    assert validate_inputs(loaded, [[1, 2, 3, 10**20]]).tolist() == [[1, 2, 3, 1e20]]


class CountingLoader:
    def __init__(self, models: dict[str, tables.Model]) -> None:
        self.models = models
        self.calls: list[str] = []

    def __call__(self, model_id: str) -> Any:
        def load() -> tables.Model | None:
            self.calls.append(model_id)
            return self.models.get(model_id)

        return load


def test_cache_hits_and_lru_eviction() -> None:
    models = {f"m{i}": make_model(model_id=f"m{i}")[0] for i in range(3)}
    loader = CountingLoader(models)
    cache = ModelCache(size=2)
    first = cache.get("m0", loader("m0"))
    assert isinstance(first, LoadedModel) and cache.get("m0", loader("m0")) is first
    cache.get("m1", loader("m1"))
    cache.get("m0", loader("m0"))  # m0 most recent: m1 goes next
    cache.get("m2", loader("m2"))
    assert "m1" not in cache and "m0" in cache and "m2" in cache and len(cache) == 2
    cache.get("m1", loader("m1"))
    assert loader.calls == ["m0", "m1", "m2", "m1"]
    cache.discard("m1")
    assert "m1" not in cache
    cache.clear()
    assert len(cache) == 0


def test_cache_size_zero_never_stores() -> None:
    loader = CountingLoader({"m0": make_model(model_id="m0")[0]})
    cache = ModelCache(size=0)
    cache.get("m0", loader("m0"))
    cache.get("m0", loader("m0"))
    assert loader.calls == ["m0", "m0"] and len(cache) == 0


def test_cache_missing_and_other_tenant_are_not_found() -> None:
    loader = CountingLoader({"m0": make_model(model_id="m0", tenant_id="ten_a")[0]})
    cache = ModelCache(size=4)
    with pytest.raises(NotFound):
        cache.get("nope", loader("nope"))
    assert cache.get("m0", loader("m0"), tenant_id="ten_a").id == "m0"
    with pytest.raises(NotFound):  # a hit, but not this tenant's
        cache.get("m0", loader("m0"), tenant_id="ten_b")


def test_cache_concurrent_predictions_agree() -> None:
    model, net = make_model()
    cache = ModelCache(size=1)
    X = np.array(rows(50))
    expected = net.forward(X).tolist()
    failures: list[str] = []

    def work() -> None:
        for _ in range(20):
            loaded = cache.get("mdl_1", lambda: model)
            if predict(loaded, X)[1] != expected:
                failures.append("mismatch")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures


def test_multilabel_sets_hold_the_labels_above_one_half() -> None:
    """p = 0.5 exactly is not chosen: predict, the evaluation report and the history's Hamming
    accuracy all take a label when p > 0.5."""
    from service.inference.model import label_sets
    from worker.nn.metrics import hamming_correct
    from worker.report.multilabel import multilabel_report

    out = np.array([[0.5, 0.500001, 0.2], [0.9, 0.5, 0.5]])
    sets, probabilities = label_sets(out, ["a", "b", "c"])
    assert sets == [["b"], ["a"]] and probabilities[1] == {"a": 0.9, "b": 0.5, "c": 0.5}
    Y = np.array([[0, 1, 0], [1, 0, 0]])
    assert hamming_correct(Y.astype(float), out) == 6
    assert multilabel_report(Y, out, ["a", "b", "c"])["subset_accuracy"] == 1.0
