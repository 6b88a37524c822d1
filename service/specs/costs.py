"""The cost model of a train job: memory and time as sums of named terms (see `estimate`).

Each term stands for allocations or work of the training process (`worker.runner` running
`worker.jobs.train` and `worker.nn.train`), so that a change there shows which term to change.
Symbols: n rows (n_tr training, n_val validation), d features, k outputs (classes or target
columns), s the training dtype's itemsize, P parameters, L layers, b the batch size.
Constants were measured on a 2-core x86-64 machine (NumPy with OpenBLAS, one BLAS thread for
the time terms: a worker running as many jobs as cores); `tests/limits/job_memory.py` re-measures.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service.specs.estimate import JobShape

MiB = 1024 * 1024
F64 = 8

# --- memory ---------------------------------------------------------------------------------

# Resident memory of a training process before its job's arrays: the interpreter, NumPy,
# OpenBLAS, SQLAlchemy and the engine imported, the first matrix product's BLAS buffers, the
# database connection, the progress-writer thread. Measured: 74 MiB with two BLAS threads.
PROCESS_BASELINE_BYTES = 74 * MiB
# Copies of one training-state snapshot alive while a checkpoint is written: the last epoch's
# snapshot (kept to checkpoint at a graceful stop), the new one, its serialized .npz, and the
# database driver's two copies of that blob (SQLite binds a copy and builds the record in
# another; psycopg's libpq output buffer and the bound bytes).
CHECKPOINT_STATE_COPIES = 5
# While the model is written: the last snapshot and the last checkpoint's blob (the driver's
# cached statement keeps its bound copy) stay; the weights' .npz, its digest's copy of a layer,
# and the driver's two copies of that blob come on top.
FINISH_STATE_COPIES = 2
FINISH_WEIGHT_COPIES = 4
# PostgreSQL: psycopg and libpq's share of the process, and the hex text of the largest bytea
# read (the dataset's content) that libpq keeps in its input buffer for the connection's life.
POSTGRES_CONNECTION_BYTES = 9 * MiB
POSTGRES_BYTEA_TEXT_COPIES = 2
# One epoch's history row kept in the training state (a dict in the history, two snapshots).
HISTORY_ROW_BYTES = 2048
# Python objects per layer, which matter for deep networks: the layer, its four views and its
# workspace arrays; and per array of a training state, the two snapshots' array objects, its
# .npz entry while serializing and the entry's headers in the blob and the driver's copies.
NETWORK_LAYER_BYTES = 1300
STATE_ARRAY_BYTES = 700
# Entries the optimizer's scratch vector holds (`worker.nn.optimizers.CHUNK`).
OPTIMIZER_CHUNK = 1 << 18
# Rows per forward pass when evaluating (`worker.nn.network.EVAL_CHUNK_ROWS`).
EVAL_CHUNK_ROWS = 4096


def memory_terms(job: JobShape) -> dict[str, int]:
    """Bytes of each part of the training process at its peak (the loop, with a checkpoint)."""
    n, n_tr, n_val, s = job.rows, job.train_rows, job.validation_rows, job.itemsize
    d, k = job.features, job.outputs
    labels_bytes = n * F64 if job.label_targets else n * k * F64
    units = sum(job.sizes[1:])
    hidden = units - k
    stored = n * d * F64 + labels_bytes
    return {
        "process": PROCESS_BASELINE_BYTES,
        # The dataset row's content (a compressed .npz; measurements do not compress, so its raw
        # size), held by the job until it ends.
        "stored_dataset": stored,
        "database_driver": POSTGRES_CONNECTION_BYTES + POSTGRES_BYTEA_TEXT_COPIES * stored
        if job.postgres else 0,
        # Decoded: X float64 (n, d); targets float64 (n, k), one-hot for classes.
        "decoded_dataset": n * d * F64 + n * k * F64,
        # The targets cast to the training dtype (`Network.prepare_targets`).
        "targets_in_dtype": n * k * s if s != F64 else 0,
        # With validation, the training rows gathered (X in float64, Y in the dtype).
        "training_part": n_tr * (d * F64 + k * s) if n_val else 0,
        # The training inputs standardized and/or cast to the training dtype
        # (`Network.prepare_inputs`; float64 inputs without standardization are used as they are).
        "prepared_inputs": n_tr * d * s if job.standardize or s != F64 else 0,
        # The validation rows, prepared (inputs and targets in the dtype).
        "validation_part": n_val * (d + k) * s,
        # Shuffling: the epoch's permuted targets, the permutation, and one batch-sized input
        # buffer (`worker.nn.loop` gathers each batch's rows just before its pass, not the
        # whole epoch). Without shuffling, standardization's float64 temporary (X - mean) is
        # the largest.
        "epoch_copy": (n_tr * (k * s + F64) + job.batch * d * s) if job.shuffle
        else (n_tr * d * F64 if job.standardize else 0),
        # Parameters and gradients, optimizer moments, the best parameters, optimizer scratch.
        "parameters": job.parameters * s * (2 + job.moments + job.keeps_best)
        + min(job.parameters, OPTIMIZER_CHUNK) * s,
        # The peak is while a checkpoint is written, or while the model is.
        "checkpoint_or_model": max(
            CHECKPOINT_STATE_COPIES * job.state_bytes,
            FINISH_STATE_COPIES * job.state_bytes + FINISH_WEIGHT_COPIES * job.parameters * s,
        ),
        # Per-batch activations, their gradients and the output scratch; a second workspace
        # for the last, shorter batch.
        "batch_workspace": 2 * job.batch * (units + hidden + k) * s,
        # Validation pass: output logits and activations, the loss's float64 temporaries, and
        # the hidden activations of one chunk of rows.
        "evaluation": n_val * k * (2 * s + 2 * F64) + min(n_val, EVAL_CHUNK_ROWS) * hidden * s,
        "history": job.epochs * HISTORY_ROW_BYTES,
        "layer_objects": job.layers * NETWORK_LAYER_BYTES + job.state_arrays * STATE_ARRAY_BYTES,
    }


# --- time -----------------------------------------------------------------------------------

# Not counted: about a second to hand a job to its process, connect, and write its model.
# Reading the dataset row and inflating its .npz (zlib): bytes of decoded dataset per second.
DECODE_BYTES_PER_SECOND = 100e6
# numpy copies, casts and gathers of large arrays into fresh memory (memory bound, page faults).
COPY_BYTES_PER_SECOND = 1e9
# Passes over the decoded dataset before the first epoch: checks, one-hot, the split's
# gathers, standardization's mean and variance, the casts.
PREPARE_PASSES = 10
# Matrix products of training-shaped operands (a batch × a layer), one core.
FLOPS_PER_SECOND = {4: 70e9, 8: 35e9}
# Elementwise passes over arrays (bias adds, derivatives, optimizer updates), per entry.
ELEMENT_SECONDS = {4: 0.4e-9, 8: 0.8e-9}
# Activations built on exp/tanh cost more per entry than a pass: forward plus derivative.
ACTIVATION_SECONDS = {
    4: {"sigmoid": 4e-9, "tanh": 4e-9, "elu": 15e-9, "softmax": 3e-9},
    8: {"sigmoid": 16e-9, "tanh": 16e-9, "elu": 17e-9, "softmax": 8e-9},
}
# Elementwise passes per activation entry and step besides the activation itself (bias add,
# derivative, bias gradient), and per parameter and step of each optimizer's update.
PASSES_PER_UNIT = 4
OPTIMIZER_PASSES = {"sgd": 2, "momentum": 5, "rmsprop": 9, "adam": 10}
# Python's share of one step (the optimizer's and metrics' calls), and per layer and step
# (about nine NumPy calls: forward and backward) — what dominates deep, narrow networks.
STEP_SECONDS = 100e-6
LAYER_STEP_SECONDS = 25e-6
# Per layer and chunk of a validation pass (three calls).
LAYER_EVAL_SECONDS = 6e-6
# Per array of a training-state snapshot (copying) and of a checkpoint (one .npz member).
SNAPSHOT_ARRAY_SECONDS = 2e-6
CHECKPOINT_ARRAY_SECONDS = 25e-6
# Writing a checkpoint: serializing and storing its bytes.
CHECKPOINT_BYTES_PER_SECOND = 200e6
# A checkpoint is written at most this often (the worker's default checkpoint_seconds).
CHECKPOINT_EVERY_SECONDS = 10.0


def time_terms(job: JobShape) -> dict[str, float]:
    """Seconds of each part of the job's run, all epochs run (except the fixed second or so
    of starting and finishing any job: an estimate grows in proportion to its epochs)."""
    s, epochs = job.itemsize, job.epochs
    n, n_tr, n_val, d, k = job.rows, job.train_rows, job.validation_rows, job.features, job.outputs
    units = sum(job.sizes[1:])
    activation = sum(
        width * ACTIVATION_SECONDS[s].get(name, 0.0)
        for width, name in zip(job.sizes[1:], job.activations, strict=True)
    )
    per_row = units * PASSES_PER_UNIT * ELEMENT_SECONDS[s] + activation
    passes = OPTIMIZER_PASSES[job.optimizer] + 2 * job.weight_decay
    steps = job.steps_per_epoch
    arrays = job.state_arrays
    chunks = math.ceil(n_val / EVAL_CHUNK_ROWS)
    epoch = {
        "matrix_products": (6 * n_tr + 2 * n_val) * job.weights / FLOPS_PER_SECOND[s],
        "elementwise": (n_tr + n_val / 2) * per_row,
        "optimizer": steps * job.parameters * passes * ELEMENT_SECONDS[s],
        "python_overhead": steps * (STEP_SECONDS + job.layers * LAYER_STEP_SECONDS)
        + chunks * job.layers * LAYER_EVAL_SECONDS,
        "shuffling": (2 * n_tr * (d + k) * s if job.shuffle else 0) / COPY_BYTES_PER_SECOND,
        "snapshot": arrays * SNAPSHOT_ARRAY_SECONDS + job.state_bytes / COPY_BYTES_PER_SECOND,
    }
    training = epochs * sum(epoch.values())
    checkpoint = arrays * CHECKPOINT_ARRAY_SECONDS + job.state_bytes / CHECKPOINT_BYTES_PER_SECOND
    checkpoints = min(epochs, training / CHECKPOINT_EVERY_SECONDS)
    return {
        "load_dataset": n * (d + k) * F64 / DECODE_BYTES_PER_SECOND,
        "prepare_data": PREPARE_PASSES * n * (d + k) * F64 / COPY_BYTES_PER_SECOND,
        **{name: epochs * value for name, value in epoch.items()},
        "checkpoints": checkpoints * checkpoint,
    }
