"""A predict job: a stored model applied to every row of a dataset, stored as a prediction."""

from __future__ import annotations

from sqlalchemy import select

from service import queue, tables
from service.artifacts import decode_dataset
from service.ids import new_id
from worker.jobs.base import InvalidJob, JobContext, LeaseLost, Stopped, load_dataset


def run_predict(ctx: JobContext) -> None:
    from service import inference

    db, job = ctx.db, ctx.job
    model_id = job.model_id or job.spec.get("model_id")
    with db.read() as session:
        model = session.scalar(
            select(tables.Model).where(
                tables.Model.id == model_id, tables.Model.tenant_id == job.tenant_id
            )
        )
    if model is None:
        raise InvalidJob(f"model {model_id} does not exist")
    dataset = load_dataset(db, tenant_id=job.tenant_id, dataset_id=job.dataset_id)
    X, _ = decode_dataset(dataset.content)
    if X.shape[1] != model.n_features:
        raise InvalidJob(
            f"dataset {dataset.id} has {X.shape[1]} features; model {model.id} expects "
            f"{model.n_features}"
        )
    predictions, probabilities = inference.predict(inference.load_model(model), X)
    prediction = tables.Prediction(
        id=new_id("pred"),
        tenant_id=job.tenant_id,
        model_id=model.id,
        job_id=job.id,
        n_rows=len(predictions),
    )
    rows = [
        tables.PredictionRow(
            prediction_id=prediction.id,
            row=i,
            prediction=value,
            probabilities=None if probabilities is None else probabilities[i],
        )
        for i, value in enumerate(predictions)
    ]
    if ctx.should_stop():
        raise Stopped
    if not queue.finish(
        db, job_id=job.id, lease_token=job.lease_token, prediction=prediction, prediction_rows=rows
    ):
        raise LeaseLost
