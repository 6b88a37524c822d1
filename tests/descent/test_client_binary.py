"""The client sends large arrays as `.npy` and large DataFrames as Arrow, and reads Arrow answers:
the results are the JSON path's (against a real `descent serve`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from descent_testdata import blobs

from descent import Client, binary

pytestmark = [pytest.mark.system, pytest.mark.slow]

NAMES = ["a", "b", "c", "d"]


def test_large_arrays_and_dataframes_travel_binary_with_the_same_answers(client: Client) -> None:
    X, y = blobs(n=60, seed=3)
    dataset = client.upload_dataset(pd.DataFrame(X, columns=NAMES).assign(label=y),
                                    target="label")
    job = client.submit_job(dataset_id=dataset.id, training={"epochs": 5, "batch_size": 16})
    model_id = client.wait(job.id, timeout=180).model_id
    assert model_id
    rows = np.random.default_rng(0).standard_normal((binary.BINARY_ROWS + 200, 4))

    body = binary.predict_body(rows)
    assert body is not None and body[0] == binary.NPY
    as_json = client.predict(model_id, rows.tolist())  # lists: always JSON
    as_npy = client.predict(model_id, rows)
    assert as_npy.predictions == as_json.predictions
    assert as_npy.probabilities == as_json.probabilities

    frame = pd.DataFrame(rows[:, ::-1], columns=NAMES[::-1]).assign(note="x")
    assert binary.predict_body(frame)[0] == binary.ARROW  # type: ignore[index]
    by_name = client.predict(model_id, frame)
    records = client.predict(model_id, frame.to_dict("records"))  # records: JSON
    assert by_name.predictions == records.predictions == as_json.predictions
    np.testing.assert_allclose(by_name.probabilities, records.probabilities, rtol=1e-12)
    assert by_name.ignored_columns == records.ignored_columns == ["note"]

    stored = client.predict(model_id, rows, store=True)
    assert stored.prediction_id
    page = client.get_prediction(stored.prediction_id, limit=10)
    assert page.predictions == as_json.predictions[:10]


def test_small_inputs_and_lists_stay_json() -> None:
    assert binary.predict_body(np.zeros((binary.BINARY_ROWS - 1, 3))) is None
    assert binary.predict_body([[0.0] * 3] * binary.BINARY_ROWS) is None
    assert binary.predict_body(np.array([["a"]] * binary.BINARY_ROWS)) is None
