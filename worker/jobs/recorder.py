"""A train job's progress as it happens: one history row per epoch and checkpoints (every epoch
or every ``checkpoint_seconds``, whichever is rarer, and at a graceful stop), written on the
job's lease by a `ProgressWriter` thread so that training never waits for the database.

Epoch rows are written in batches, one transaction every ``ROWS_SECONDS`` at most (and before
each checkpoint, so a checkpoint never runs ahead of the rows before it); the rows still held
when the job succeeds go into its ``finish`` transaction — a short job writes none of its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from service import queue
from service.schemas.common import json_safe
from worker.jobs.base import JobContext
from worker.jobs.writer import ProgressWriter

# Epoch rows wait at most this long (plus an epoch) for the next batch: what a client polling the
# history sees late, against one transaction per epoch (a fast job's epochs take milliseconds).
ROWS_SECONDS = 0.2


def history_row(row: dict[str, Any]) -> tuple[dict[str, Any], float]:
    """The engine's epoch row as ``(metrics, seconds)``: the epoch and its duration are columns
    of their own in ``job_epochs``, so the metrics are just the measures (JSON-safe: a
    non-finite value is null). The row's ``diagnostics`` stay out (``diagnostics_of``)."""
    skip = ("epoch", "seconds", "diagnostics")
    metrics = json_safe({k: v for k, v in row.items() if k not in skip})
    return metrics, float(row.get("seconds") or 0.0)


def diagnostics_of(row: dict[str, Any] | None) -> dict[str, Any] | None:
    """The engine row's per-layer ``diagnostics`` block, JSON-safe, or None when off."""
    block = None if row is None else row.get("diagnostics")
    return None if block is None else json_safe(block)


@dataclass
class EpochRecorder:
    """The engine's ``on_epoch``: the epoch's row (in a batch), its state when a checkpoint is
    due."""

    ctx: JobContext
    writer: ProgressWriter = field(default_factory=ProgressWriter)
    last_checkpoint_at: float = field(default_factory=time.monotonic)
    last_rows_at: float = field(default_factory=time.monotonic)
    rows: list[queue.EpochRow] = field(default_factory=list)  # not handed to the writer yet
    last_epoch: int | None = None
    # The engine's snapshot of the last finished epoch (what a graceful stop checkpoints).
    last_state: Any = None
    checkpointed_epoch: int | None = None

    def on_epoch(self, epoch: int, row: dict[str, Any], state: Any) -> None:
        metrics, seconds = history_row(row)
        self.rows.append(queue.EpochRow(epoch, metrics, seconds, diagnostics_of(row)))
        self.last_epoch, self.last_state = epoch, state
        now = time.monotonic()
        if now - self.last_checkpoint_at >= self.ctx.checkpoint_seconds:
            self.checkpoint(wait=False)
        elif now - self.last_rows_at >= ROWS_SECONDS:
            self.write_rows()

    def write_rows(self) -> None:
        """Hand the rows held so far to the writer (one transaction)."""
        rows, self.rows = self.rows, []
        self.last_rows_at = time.monotonic()
        if rows:
            job = self.ctx.job
            self.writer.submit(partial(queue.record_epochs, self.ctx.db, job_id=job.id,
                                       lease_token=job.lease_token, rows=rows))

    def take_rows(self) -> list[queue.EpochRow]:
        """Once the run succeeded: wait for the rows handed to the writer (raising what they
        met) and return the rows held since, for the caller to write with the job's outcome."""
        self.writer.flush()
        rows, self.rows = self.rows, []
        return rows

    def close(self) -> None:
        """Write what is held (a failed run's history up to its failure; nothing after
        `take_rows`) and stop the writer."""
        try:
            self.write_rows()
        finally:
            self.writer.close()

    def checkpoint(self, *, wait: bool = True) -> None:
        """Save the last finished epoch's state (no-op when it is saved already); ``wait``
        until it and every epoch row before it are written."""
        self.write_rows()
        if self.last_state is not None and self.last_epoch != self.checkpointed_epoch:
            job, epoch, state = self.ctx.job, self.last_epoch, self.last_state
            assert epoch is not None

            def save() -> bool:
                # The history is in the epoch rows already: the checkpoint leaves it out.
                return queue.save_checkpoint(
                    self.ctx.db, job_id=job.id, lease_token=job.lease_token, epoch=epoch,
                    state=state.to_bytes(history=False),
                )

            self.writer.submit(save)
            self.checkpointed_epoch = epoch
            self.last_checkpoint_at = time.monotonic()
        if wait:
            self.writer.flush()
