"""What a job does, inside its training process: train a network or apply a model to a dataset.

Every write carries the job's lease token (`service.queue`); a write that matches no row means
the lease is lost (another worker owns the job now), and the job stops at once with `LeaseLost`
and writes nothing more. A graceful stop (`should_stop()` turned true) saves a checkpoint of the
last finished epoch and raises `Stopped`; the supervisor then releases the job to the queue.

A train job resumes from its latest checkpoint and re-runs (overwriting) the epochs after it, so
any checkpoint is a correct place to restart from: checkpoints are written every epoch or every
``checkpoint_seconds``, whichever is rarer, and at every graceful stop.
"""

from __future__ import annotations

from service.queue.kinds import UnknownJobKind, job_kind
from worker.jobs.base import InvalidJob, JobContext, LeaseLost, Stopped
from worker.jobs.predict import run_predict
from worker.jobs.recorder import EpochRecorder, history_row
from worker.jobs.train import run_train, training_arrays

__all__ = [
    "EpochRecorder",
    "InvalidJob",
    "JobContext",
    "LeaseLost",
    "Stopped",
    "history_row",
    "run_job",
    "run_predict",
    "run_train",
    "training_arrays",
]


def run_job(ctx: JobContext) -> None:
    """Run a claimed job to its end with its kind's runner (`service.queue.kinds`): `finish()`
    on success; raises on anything else."""
    if ctx.should_stop():
        raise Stopped
    try:
        kind = job_kind(ctx.job.kind)
    except UnknownJobKind as exc:
        raise InvalidJob(str(exc)) from None
    kind.load_runner()(ctx)
