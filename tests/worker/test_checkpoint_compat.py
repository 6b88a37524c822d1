"""A train job's checkpoint written by an earlier Descent (format 1) resumes bit for bit.

``data/job_state_v1_epoch3.npz`` is the checkpoint the code before the training-state redesign
stored after epoch 3 of the job in ``job_state_v1_epoch3.json`` (on the data of
``synthetic_data()``), with the weights that job ended with.

The recorded hash holds where NumPy and its BLAS round as they did when the fixture was made
(a new NumPy may change the last bit of a product, and the checkpoint's epoch-3 state carries
the old rounding). There the resume must be bit for bit; everywhere it must agree with an
uninterrupted run to ~1e-9 — a misread optimizer moment, step count or RNG state misses by far
more than that.
"""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits
from worker_helpers import TrainCase, job_row, model_of, reference_params

from service import queue
from service.db import Database
from worker.jobs import JobContext
from worker.runner import run_and_report

DATA = Path(__file__).parent / "data"


def test_a_format_1_checkpoint_resumes_bit_identically(db: Database, case: TrainCase) -> None:
    meta = json.loads((DATA / "job_state_v1_epoch3.json").read_text())
    spec = {"dataset_id": case.dataset_id, **meta["spec"]}
    job_id = case.enqueue(spec)
    job = queue.claim_next_job(db, worker_id=str(uuid.uuid4()), lease_seconds=60)
    assert job is not None and job.id == job_id
    state = (DATA / "job_state_v1_epoch3.npz").read_bytes()
    assert queue.save_checkpoint(db, job_id=job_id, lease_token=job.lease_token,
                                 epoch=meta["resume_epoch"], state=state)
    with threadpool_limits(limits=1):
        assert run_and_report(JobContext(db=db, job=job, checkpoint_seconds=0.0)) == 0
    finished = job_row(db, job_id)
    assert finished.status == "succeeded"
    model = model_of(db, finished)
    if case.reference(spec) == meta["weights_sha256"]:
        assert model.weights_sha256 == meta["weights_sha256"]
    expected, _ = reference_params(spec, case.X, case.y)
    with np.load(io.BytesIO(model.weights), allow_pickle=False) as resumed:
        for i, (W, b) in enumerate(zip(expected[0::2], expected[1::2], strict=True)):
            np.testing.assert_allclose(resumed[f"W{i}"], W, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(resumed[f"b{i}"], b, rtol=1e-9, atol=1e-12)
