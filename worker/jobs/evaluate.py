"""An evaluate job: a stored model's report on a large dataset with targets
(``service.evaluation``), filled into the evaluation row the API inserted when it queued the
job. A dataset that cannot be evaluated fails the job (``InvalidJob``) with the reason."""

from __future__ import annotations

from sqlalchemy import select

from service import queue, tables
from service.evaluation import EvaluationProblem, evaluate
from worker.jobs.base import InvalidJob, JobContext, LeaseLost, Stopped, load_dataset


def run_evaluate(ctx: JobContext) -> None:
    db, job = ctx.db, ctx.job
    model_id = job.model_id or job.spec.get("model_id")
    with db.read() as session:
        model = session.scalar(select(tables.Model).where(
            tables.Model.id == model_id, tables.Model.tenant_id == job.tenant_id))
    if model is None:
        raise InvalidJob(f"model {model_id} does not exist")
    dataset = load_dataset(db, tenant_id=job.tenant_id, dataset_id=job.dataset_id)
    try:
        report = evaluate(model, dataset, db=db)
    except EvaluationProblem as exc:
        raise InvalidJob(str(exc)) from None
    if ctx.should_stop():
        raise Stopped
    if not queue.finish(db, job_id=job.id, lease_token=job.lease_token,
                        evaluation=(job.spec["evaluation_id"], report)):
        raise LeaseLost
