"""ONNX export of a multilabel model: the graph's ``output`` is the sigmoid probability of each
label, in the model's label order — the numbers of ``/predict``'s ``{label: p}`` rows; the label
set is ``output > 0.5`` (thresholding is left to the consumer)."""

from __future__ import annotations

import numpy as np
import onnx
from test_onnx_export import run_onnx

from service.inference import LoadedModel, predict
from service.onnx_export import to_onnx
from worker.nn import Network

LABELS = ["spam", "urgent", "work"]


def test_multilabel_graph_gives_each_labels_probability() -> None:
    rng = np.random.default_rng(4)
    net = Network.from_spec({"hidden_layers": [{"units": 5, "activation": "relu"}]}, 4, 3,
                            seed=4, task="multilabel")
    net.params = [rng.normal(scale=0.8, size=p.shape) for p in net.params]
    loaded = LoadedModel(id="mdl_test", tenant_id="ten_test", task="multilabel",
                         classes=LABELS, n_features=4, n_targets=3, net=net,
                         standardization=None, targets=None)
    content = to_onnx(loaded)
    onnx.checker.check_model(onnx.load_from_string(content), full_check=True)
    X = rng.normal(scale=2.0, size=(32, 4))
    sets, probabilities = predict(loaded, X)
    want = np.array([[row[label] for label in LABELS] for row in probabilities])
    got = run_onnx(content, X)
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert sets == [[c for c, p in zip(LABELS, row, strict=True) if p > 0.5] for row in got]
