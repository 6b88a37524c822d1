"""A predict job: a stored model applied to every row of a dataset, stored as a prediction.

Rows are predicted and written ``ROWS_PER_WRITE`` at a time (``service.queue.results``): memory
stays bounded by one chunk whatever the dataset's size, and each chunk's write is a short
transaction of its own, so a million-row prediction never holds the database's write lock for
long. The prediction becomes visible only when the job succeeds.
"""

from __future__ import annotations

from sqlalchemy import select

from service import queue, tables
from service.artifacts import decode_dataset
from service.ids import new_id
from service.queue import results
from service.repository.predictions import ROWS_PER_WRITE, pace
from worker.jobs.base import InvalidJob, JobContext, LeaseLost, Stopped, load_dataset


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
    X, _ = decode_dataset(dataset.content)
    if X.shape[1] != model.n_features:
        raise InvalidJob(f"dataset {dataset.id} has {X.shape[1]} features; model {model.id} "
                         f"expects {model.n_features}")
    loaded = inference.load_model(model)
    prediction = tables.Prediction(id=new_id("pred"), tenant_id=job.tenant_id,
                                   model_id=model.id, job_id=job.id, n_rows=int(X.shape[0]))
    if not results.begin_prediction(db, job_id=job.id, lease_token=job.lease_token,
                                    prediction=prediction):
        raise LeaseLost
    for start in range(0, X.shape[0], ROWS_PER_WRITE):
        try:
            out = inference.outputs(loaded, X[start : start + ROWS_PER_WRITE])
        except inference.PredictionError as exc:
            raise InvalidJob(f"dataset {dataset.id}, row {start + exc.row}: the model's outputs "
                             "overflow for these inputs (far outside the range it was trained "
                             "on)") from None
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
