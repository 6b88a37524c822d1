"""A hostile user's tables: each refusal names the record and column it is about, in the form
the user sent (a records upload has no ``targets`` field), and stores nothing."""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import auth, client_for, row_counts

from service.db import Database

ROWS = [{"a": 1, "y": "p"}, {"a": 2, "y": "q"}, {"a": 3, "y": "p"}]


def _refused(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    client, headers = client_for(db), auth(db)
    before = row_counts(db)
    response = client.post("/v1/datasets", json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert row_counts(db) == before
    problem: dict[str, Any] = response.json()
    return problem


@pytest.mark.parametrize(("cell", "said"), [
    ({"k": 1}, "is an object"), (True, "is true"),
])
def test_a_records_target_that_is_not_a_label_names_record_and_column(
        db: Database, cell: Any, said: str) -> None:
    records = [*ROWS, {"a": 4, "y": cell}]
    problem = _refused(db, {"records": records, "target": "y"})
    assert problem["detail"].startswith(f"record 3's 'y' {said}"), problem
    assert "targets[" not in problem["detail"]
    assert problem["errors"][0]["loc"] == ["body", "records", 3, "y"]


def test_records_target_values_that_are_text_name_record_and_column(db: Database) -> None:
    problem = _refused(db, {"records": ROWS, "target": "y", "target_kind": "values"})
    assert "record 0's 'y' is 'p'" in problem["detail"], problem
    assert problem["errors"][0]["loc"] == ["body", "records", 0, "y"]


def test_a_record_key_without_a_name_is_named_as_such(db: Database) -> None:
    problem = _refused(db, {"records": [{"": 1, "y": 1}, {"": 2, "y": 2}], "target": "y"})
    assert "record 0 has a column with an empty name" in problem["detail"], problem


def test_a_column_near_float64s_limit_trains_and_predicts(db: Database) -> None:
    """Its sums overflow: the fit once failed INTERNAL (and was retried), or stored an infinite
    mean fill that made every later predict a 500."""
    from test_tables_api import run_next_job

    client, headers = client_for(db), auth(db)
    records = [{"a": None if i % 5 == 0 else (1e308 if i % 2 else -1e308), "b": i % 3,
                "y": i % 2} for i in range(40)]
    dataset = client.post("/v1/datasets", headers=headers,
                          json={"records": records, "target": "y"}).json()
    job = client.post("/v1/jobs", headers=headers, json={
        "dataset_id": dataset["id"], "training": {"epochs": 3}}).json()
    run_next_job(db)
    done = client.get(f"/v1/jobs/{job['id']}", headers=headers).json()
    assert done["status"] == "succeeded", done["error"]
    answer = client.post(f"/v1/models/{done['model_id']}/predict", headers=headers, json={
        "inputs": [{"a": 1e308, "b": 1}, {"a": None, "b": 2}, {"a": -1.7e308, "b": 0}]})
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["predictions"]) == 3



def test_category_text_is_stripped_at_predict_and_in_records_as_in_a_csv(db: Database) -> None:
    """A CSV cell " red " is the category "red"; a record's " red " at predict time was an
    unseen category (all zeros under unknown "ignore": a confident answer for another input)."""
    from test_tables_api import run_next_job, table_csv

    client, headers = client_for(db), auth(db)
    dataset = client.post("/v1/datasets", files={"file": ("t.csv", table_csv(60))},
                          data={"target": "label"}, headers=headers).json()
    job = client.post("/v1/jobs", headers=headers, json={
        "dataset_id": dataset["id"], "training": {"epochs": 2},
        "preprocessing": {"unknown": "error"}}).json()
    run_next_job(db)
    model_id = client.get(f"/v1/jobs/{job['id']}", headers=headers).json()["model_id"]
    row = {"size": 0.5, "color": "red", "shape": "round", "weight": 0.1}
    padded = {**row, "color": " red ", "shape": "round\t"}
    blank, null = {**row, "color": "   "}, {**row, "color": None}
    answers = [client.post(f"/v1/models/{model_id}/predict", headers=headers,
                           json={"inputs": [r]}) for r in (row, padded, blank, null)]
    assert [a.status_code for a in answers] == [200] * 4, answers[1].text
    assert answers[0].json() == answers[1].json() and answers[2].json() == answers[3].json()

    records = [{"c": text, "y": i % 2} for i, text in enumerate(["x", " x ", "y", "  "])]
    upload = client.post("/v1/datasets", headers=headers, json={"records": records, "target": "y"})
    assert upload.json()["columns"][0] == {"name": "c", "kind": "categorical", "missing": 1,
                                           "categories": 2}


def test_a_single_class_target_is_refused_at_submit_saying_which_class(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    upload = client.post("/v1/datasets", files={"file": ("one.csv", b"a,y\n1,0\n2,0\n3,0\n")},
                         data={"target": "y"}, headers=headers)
    assert upload.status_code == 201, upload.text
    before = row_counts(db)
    job = client.post("/v1/jobs", headers=headers, json={"dataset_id": upload.json()["id"]})
    assert job.status_code == 422 and row_counts(db) == before
    assert "it has only one, 0" in job.json()["detail"], job.text  # was "it has only 0"


def test_the_same_cells_under_other_column_names_are_another_dataset(db: Database) -> None:
    """Deduplication once ignored names: a CSV with columns p, q came back as the dataset with
    columns a, b (and trained a model taking a, b); b, a swapped over the same cells trained a
    model that read each column as the other by name."""
    client, headers = client_for(db), auth(db)

    def upload(text: bytes, target: str = "y") -> Any:
        return client.post("/v1/datasets", files={"file": ("t.csv", text)},
                           data={"target": target}, headers=headers)

    first = upload(b"a,b,y\n1,2,0\n3,4,1\n5,6,0\n")
    assert first.status_code == 201
    for other, target in ((b"p,q,y\n1,2,0\n3,4,1\n5,6,0\n", "y"),
                          (b"b,a,y\n1,2,0\n3,4,1\n5,6,0\n", "y"),
                          (b"a,b,t\n1,2,0\n3,4,1\n5,6,0\n", "t")):
        answer = upload(other, target)
        assert answer.status_code == 201 and answer.json()["id"] != first.json()["id"]
        names = other.split(b"\n")[0].decode().split(",")
        assert answer.json()["feature_names"] == [n for n in names if n != target]
    assert upload(b"a,b,y\n1,2,0\n3,4,1\n5,6,0\n").status_code == 200  # the same: deduped


def test_a_batch_refusal_names_the_row_unmistakably(db: Database) -> None:
    """A CSV's upload counts rows from 1; a batch job said "row 1" for its second row."""
    from test_tables_api import run_next_job, table_csv

    client, headers = client_for(db), auth(db)
    dataset = client.post("/v1/datasets", files={"file": ("t.csv", table_csv(60))},
                          data={"target": "label"}, headers=headers).json()
    client.post("/v1/jobs", headers=headers, json={
        "dataset_id": dataset["id"], "training": {"epochs": 2},
        "preprocessing": {"unknown": "error"}})
    run_next_job(db)
    model_id = client.get("/v1/models", headers=headers).json()["data"][0]["id"]
    rows = b"size,color,shape,weight\n1,red,round,0\n1,red,oval,0\n1,,,\nx,red,round,0\n"
    for cells, said in ((rows[:rows.index(b"x")], "row 1 (the dataset's 2nd row), column 'shape'"),
                        (rows.replace(b"oval", b"round"),
                         "row 3 (the dataset's 4th row), column 'size'")):
        kinds = '{"size": "categorical"}' if b"x," in cells else "{}"
        batch = client.post("/v1/datasets", files={"file": ("b.csv", cells)},
                            data={"column_kinds": kinds}, headers=headers).json()
        job = client.post(f"/v1/models/{model_id}/batch-predictions", headers=headers,
                          json={"dataset_id": batch["id"]}).json()
        run_next_job(db)
        failed = client.get(f"/v1/jobs/{job['id']}", headers=headers).json()
        assert failed["status"] == "failed" and said in failed["error"]["message"], failed


def test_a_numeric_column_over_the_category_limit_names_the_text_that_made_it_categorical(
        db: Database) -> None:
    """One "n/a" among 200 distinct incomes makes the column categorical; the refusal blamed
    an income as "an identifier or free text? drop it", not the cell to fix."""
    client, headers = client_for(db, max_column_categories=50), auth(db)
    lines = ["income,y"] + [f"{1000 + 7 * i},{i % 2}" for i in range(200)]
    lines[120] = "n/a,1"
    before = row_counts(db)
    answer = client.post("/v1/datasets", files={"file": ("t.csv", "\n".join(lines).encode())},
                         data={"target": "y"}, headers=headers)
    assert answer.status_code == 422 and row_counts(db) == before
    assert ("categorical because row 120 (line 121) holds 'n/a', which is not a number"
            in answer.json()["detail"]), answer.text


def test_a_few_text_cells_in_a_column_of_numbers_are_warned_about(db: Database) -> None:
    """An "NA" and a "-" among numbers make the column categorical (kept: the cells may be
    categories), but silently: the answer now warns, naming the column and the cells, and
    says to leave them empty; a real text column, or one given its kind, is not warned about."""
    client, headers = client_for(db), auth(db)
    lines = ["income,city,y"] + [f"{1000 + 7 * i},{'Lyon' if i % 2 else 'Paris'},{i % 2}"
                                 for i in range(30)]
    lines[5], lines[9] = "NA,Lyon,1", "-,Paris,0"
    csv = "\n".join(lines).encode()
    answer = client.post("/v1/datasets", files={"file": ("t.csv", csv)}, data={"target": "y"},
                         headers=headers)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["columns"][0]["kind"] == "categorical"  # the behaviour is kept
    [warning] = body["warnings"]
    assert "column 'income'" in warning and "'-', 'NA'" in warning, warning
    assert "row 5 (line 6) holds 'NA'" in warning and "leave those cells empty" in warning
    assert "column_kinds" in warning
    given = client.post("/v1/datasets", files={"file": ("t.csv", csv)}, headers=headers,
                        data={"target": "y", "column_kinds": '{"income": "categorical"}'})
    assert given.status_code in (200, 201) and given.json()["warnings"] == [], given.text
    fixed = csv.replace(b"\nNA,", b"\n,").replace(b"\n-,", b"\n,")
    clean = client.post("/v1/datasets", files={"file": ("t.csv", fixed)}, data={"target": "y"},
                        headers=headers).json()
    assert clean["columns"][0] == {"name": "income", "kind": "numeric", "missing": 2,
                                   "categories": None} and clean["warnings"] == []
