"""``GET /v1/datasets/{id}/targets`` (the dashboard's dataset page): the class balance of labels,
a histogram of each value column, nothing for a dataset without targets, 404 for another
tenant's dataset."""

from __future__ import annotations

import numpy as np
from api_helpers import auth, client_for

from service.datasets.target_summary import BINS, summarize
from service.db import Database


def test_labels_are_counted_per_class_and_values_binned(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    labels = client.post("/v1/datasets", headers=headers, json={
        "features": [[0.0], [1.0], [2.0], [3.0], [4.0]], "targets": ["b", "a", "b", "c", "b"]})
    assert labels.status_code == 201, labels.text
    answer = client.get(f"/v1/datasets/{labels.json()['id']}/targets", headers=headers)
    assert answer.status_code == 200
    assert answer.json()["targets"] == [{"name": "y", "kind": "labels", "classes": ["a", "b", "c"],
                                         "counts": [1, 3, 1], "edges": None, "min": None,
                                         "max": None, "mean": None}]

    values = client.post("/v1/datasets", headers=headers, json={
        "features": [[0.0], [1.0], [2.0], [3.0]], "targets": [[1.0, 5.0], [2.0, 5.0],
                                                             [3.0, 5.0], [4.0, 5.0]],
        "target_names": ["price", "constant"]})
    assert values.status_code == 201, values.text
    price, constant = client.get(f"/v1/datasets/{values.json()['id']}/targets",
                                 headers=headers).json()["targets"]
    assert price["name"] == "price" and price["kind"] == "values"
    assert len(price["counts"]) == BINS and sum(price["counts"]) == 4
    assert price["edges"][0] == 1.0 and price["edges"][-1] == 4.0 and price["mean"] == 2.5
    assert sum(constant["counts"]) == 4 and constant["min"] == constant["max"] == 5.0

    unlabelled = client.post("/v1/datasets", headers=headers, json={"features": [[0.0], [1.0]]})
    assert client.get(f"/v1/datasets/{unlabelled.json()['id']}/targets",
                      headers=headers).json() == {"targets": []}
    other = auth(db, tenant="other")
    assert client.get(f"/v1/datasets/{labels.json()['id']}/targets",
                      headers=other).status_code == 404


def test_summarize_without_targets_is_empty() -> None:
    assert summarize(None, None, None, None) == []
    assert summarize(np.array([0, 0, 1]), "labels", [0, 1], ["t"])[0]["counts"] == [2, 1]
