"""A live progress line for a training job, fed by ``Client.wait``'s events.

On a terminal it redraws one line (``\\r``): status, ``epoch k/n``, a bar, loss, val_loss, one
metric, elapsed time and ETA. Elsewhere (CI logs, pipes) it prints a line per epoch, at most
every few seconds, so logs stay readable.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from typing import Any, TextIO

from ..types import Event, HistoryRow, Job
from .output import number

METRICS = ("val_accuracy", "accuracy", "val_r2", "r2", "val_mae", "mae")
BAR_WIDTH = 24
PLAIN_EVERY_SECONDS = 5.0


def clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(max(0.0, seconds))
    hours, rest = divmod(seconds, 3600)
    return (f"{hours}:" if hours else "") + f"{rest // 60:02d}:{rest % 60:02d}"


def _instant(timestamp: str | None) -> dt.datetime | None:
    if not timestamp:
        return None
    try:
        moment = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _started(job: Job) -> float | None:
    """The job's start as a local monotonic time (None if unknown or in the future)."""
    started = _instant(job.started_at)
    if started is None:
        return None
    ago = (dt.datetime.now(dt.UTC) - started).total_seconds()
    return time.monotonic() - ago if ago >= 0 else None


def _ran_for(job: Job) -> float | None:
    """Seconds from a finished job's start to its end (None if either is unknown)."""
    started, finished = _instant(job.started_at), _instant(job.finished_at)
    if started is None or finished is None:
        return None
    return max(0.0, (finished - started).total_seconds())


class Progress:
    def __init__(self, job_id: str, stream: TextIO | None = None) -> None:
        self.job_id = job_id
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.status = "queued"
        self.epochs: int | None = None
        # The job's own count of finished epochs (a job's row may be missing from its history).
        self.job_epoch = 0
        self.ran_for: float | None = None
        self.job_metrics: dict[str, Any] = {}
        self.row: HistoryRow | None = None
        self.epoch_seconds: list[float] = []
        self.started: float | None = None
        self.last_plain = 0.0
        self.drawn = False

    def __call__(self, event: Event) -> None:
        if event.job is not None:
            job = event.job
            changed = job.status != self.status
            self.status, self.epochs = job.status, job.epochs or self.epochs
            self.job_epoch = max(self.job_epoch, job.epoch)
            self.job_metrics = job.metrics or self.job_metrics
            if self.started is None and job.status != "queued":
                self.started = _started(job) or time.monotonic()
            if job.done:
                self.ran_for = _ran_for(job)
                self.draw(force=True)
                self.finish()
            elif changed or not self.drawn:
                self.draw(force=True)
        elif event.row is not None:
            self.row = event.row
            if event.row.seconds is not None:
                self.epoch_seconds.append(float(event.row.seconds))
            if self.started is None:
                self.started = time.monotonic()
            if self.drawn:  # a finished job's rows come before its status: drawn with it
                self.draw()

    def line(self) -> str:
        epoch = max(self.row.epoch if self.row else 0, self.job_epoch)
        parts = [f"{self.job_id} {self.status}"]
        if self.epochs:
            filled = int(BAR_WIDTH * min(epoch, self.epochs) / self.epochs)
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            parts.append(f"epoch {epoch}/{self.epochs} [{bar}]")
        else:
            parts.append(f"epoch {epoch}")
        # The last row seen, or (for a job watched after its end) the job's final metrics.
        metrics = self.row.metrics if self.row is not None else self.job_metrics
        if metrics:
            parts.append(f"loss {number(metrics.get('loss'))}")
            if metrics.get("val_loss") is not None:
                parts.append(f"val_loss {number(metrics['val_loss'])}")
            name = next((m for m in METRICS if metrics.get(m) is not None), None)
            if name:
                parts.append(f"{name} {number(metrics[name])}")
        elapsed = time.monotonic() - self.started if self.started is not None else None
        if self.ran_for is not None:
            elapsed = self.ran_for
        parts.append(f"{clock(elapsed)} elapsed")
        if self.status == "running":
            parts.append(f"ETA {clock(self.eta(epoch, elapsed))}")
        return "  ".join(parts)

    def eta(self, epoch: int, elapsed: float | None) -> float | None:
        if not self.epochs or epoch <= 0:
            return None
        if self.epoch_seconds:
            per_epoch = sum(self.epoch_seconds) / len(self.epoch_seconds)
        elif elapsed:
            per_epoch = elapsed / epoch
        else:
            return None
        return per_epoch * max(0, self.epochs - epoch)

    def draw(self, force: bool = False) -> None:
        if self.tty:
            self.stream.write("\r" + self.line() + "\x1b[K")
        elif force or time.monotonic() - self.last_plain >= PLAIN_EVERY_SECONDS:
            self.stream.write(self.line() + "\n")
            self.last_plain = time.monotonic()
        self.stream.flush()
        self.drawn = True

    def finish(self) -> None:
        if self.tty and self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False
