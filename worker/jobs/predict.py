"""A predict job: a stored model applied to every row of a dataset, stored as a prediction.

Rows are predicted and written ``ROWS_PER_WRITE`` at a time (``service.queue.results``): memory
stays bounded by one chunk whatever the dataset's size, and each chunk's write is a short
transaction of its own, so a million-row prediction never holds the database's write lock for
long. The prediction becomes visible only when the job succeeds.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from service import queue, tables
from service.ids import new_id
from service.queue import results
from service.repository.datasets import read_columns
from service.repository.predictions import ROWS_PER_WRITE, pace
from worker.jobs.base import InvalidJob, JobContext, LeaseLost, Stopped, load_dataset
from worker.pipeline import Table


def _shifted(message: str, row: int, start: int) -> str:
    """A chunk's error message with its row counted from the dataset's first row, and said as
    an ordinal too: rows here count from 0, as in /predict, but a CSV's upload counted them
    from 1 ("row 2 (line 3)"), so "row 1" alone pointed a CSV's user at the wrong row."""
    n = start + row
    return message.replace(f"row {row}", f"row {n} (the dataset's {_ordinal(n + 1)} row)", 1)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n:,}{suffix}"


def _model(ctx: JobContext) -> tables.Model:
    job = ctx.job
    model_id = job.model_id or job.spec.get("model_id")
    with ctx.db.read() as session:
        model = session.scalar(
            select(tables.Model).where(
                tables.Model.id == model_id, tables.Model.tenant_id == job.tenant_id
            )
        )
    if model is None:
        raise InvalidJob(f"model {model_id} does not exist")
    return model


def run_predict(ctx: JobContext) -> None:
    from service import inference

    db, job = ctx.db, ctx.job
    model = _model(ctx)
    dataset = load_dataset(db, tenant_id=job.tenant_id, dataset_id=job.dataset_id)
    from service.inference import matching

    problem = matching.problem(model.columns, model.n_features, dataset)
    if problem is not None:
        raise InvalidJob(f"model {model.id}: {problem}")
    table, _ = read_columns(db, dataset)
    loaded = inference.load_model(model)
    X: Any = table
    if loaded.columns is None:
        X = table.matrix()  # numbers by position, as the model always took them
    else:
        try:
            X = matching.model_table(loaded.columns, table, by_position=matching.unnamed(dataset))
        except ValueError as exc:  # MissingColumn, KindMismatch: named in the message
            row = getattr(exc, "row", None)
            message = str(exc) if row is None else _shifted(str(exc), row, 0)
            raise InvalidJob(f"dataset {dataset.id}: {message}") from None
    n_rows = table.n_rows
    prediction = tables.Prediction(id=new_id("pred"), tenant_id=job.tenant_id,
                                   model_id=model.id, job_id=job.id, n_rows=n_rows,
                                   ignored_columns=matching.ignored(model.columns, dataset))
    if not results.begin_prediction(db, job_id=job.id, lease_token=job.lease_token,
                                    prediction=prediction):
        raise LeaseLost
    for start in range(0, n_rows, ROWS_PER_WRITE):
        rows = slice(start, start + ROWS_PER_WRITE)
        try:
            out = inference.outputs(loaded, X.take(rows) if isinstance(X, Table) else X[rows])
        except inference.PredictionError as exc:
            raise InvalidJob(f"dataset {dataset.id}: {_shifted(str(exc), exc.row, start)}"
                             ) from None
        predictions, probabilities = inference.to_answers(loaded, out)
        if ctx.should_stop():
            raise Stopped
        with pace(db):
            written = results.add_prediction_rows(
                db, job_id=job.id, lease_token=job.lease_token, prediction_id=prediction.id,
                start=start, predictions=predictions, probabilities=probabilities,
            )
        if not written:
            raise LeaseLost
    if not queue.finish(db, job_id=job.id, lease_token=job.lease_token,
                        prediction_id=prediction.id):
        raise LeaseLost
