"""`GET /v1/models/{id}/onnx` on a real server: onnxruntime agrees with `/predict`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from descent_server import running_server
from descent_testdata import blobs, linear
from table_rows import csv_bytes, feeds, rows

from descent import Client, DescentAPIError

pytestmark = [pytest.mark.system, pytest.mark.slow]


def test_onnx_download_predicts_like_the_service(tmp_path: Path) -> None:
    with running_server(tmp_path / "server") as server, \
            Client(server.url, server.api_key) as client:
        Xc, yc = blobs(seed=21)
        Xr, yr = linear(seed=22)
        cases = [
            (client.upload_dataset(Xc, yc).id, Xc, {"standardize": True}),
            (client.upload_dataset(Xr, yr).id, Xr, {"standardize": False, "dtype": "float64"}),
        ]
        for dataset_id, X, training in cases:
            job = client.submit_job(dataset_id=dataset_id, training={"epochs": 10, **training},
                                    network={"hidden_layers": [{"units": 8, "activation": "elu"}]})
            job = client.wait(job.id, timeout=180)
            assert job.status == "succeeded" and job.model_id
            path = tmp_path / f"{job.model_id}.onnx"
            content = client.download_onnx(job.model_id, path)
            assert path.read_bytes() == content
            session = ort.InferenceSession(content, providers=["CPUExecutionProvider"])
            # Raw rows in float64 whatever the model's dtype, as /predict takes them.
            ours = session.run(["output"], {"input": X[:40]})[0]
            answer = client.predict(job.model_id, X[:40])
            theirs = (answer.probabilities if answer.probabilities is not None
                      else np.asarray(answer.predictions).reshape(40, -1))
            np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=1e-5)

        with pytest.raises(DescentAPIError) as missing:
            client.download_onnx("mdl_missing")
        assert missing.value.status == 404
        with Client(server.url, "wrong-key") as stranger, \
                pytest.raises(DescentAPIError) as denied:
            stranger.download_onnx(job.model_id)
        assert denied.value.status == 401


def test_onnx_of_a_table_over_http(tmp_path: Path) -> None:
    """A CSV with text columns and blanks, over real HTTP: the graph takes the raw columns."""
    path = tmp_path / "table.csv"
    path.write_bytes(csv_bytes(rows(200, 3, categorical=True), "label"))
    with running_server(tmp_path / "server") as server, \
            Client(server.url, server.api_key) as client:
        dataset = client.upload_dataset(path, target="label")
        job = client.wait(client.submit_job(dataset_id=dataset.id,
                                            training={"epochs": 10}).id, timeout=180)
        assert job.status == "succeeded" and job.model_id
        session = ort.InferenceSession(client.download_onnx(job.model_id),
                                       providers=["CPUExecutionProvider"])
        fresh = [{k: v for k, v in r.items() if k not in ("label", "value")}
                 for r in rows(30, 4, categorical=True)]
        kinds = {"size": "numeric", "weight": "numeric", "city": "categorical",
                 "shape": "categorical"}
        probabilities, labels = session.run(["output", "label"], feeds(fresh, kinds))
        answer = client.predict(job.model_id, fresh)
        np.testing.assert_allclose(probabilities, answer.probabilities, atol=1e-5, rtol=1e-5)
        assert labels.tolist() == answer.predictions
