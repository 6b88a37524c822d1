"""Sweeps in the client: their typed views and following one to its end (by polling: a sweep's
progress is its counts, which change once per trial)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .types import _APIObject

if TYPE_CHECKING:
    from .api import Client

SWEEP_FINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})


@dataclasses.dataclass(frozen=True)
class Trial(_APIObject):
    number: int = 0
    job_id: str = ""
    status: str = "queued"  # or running, succeeded, pruned, failed, cancelled
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    value: float | None = None
    epochs: int = 0
    pruned_epoch: int | None = None
    model_id: str | None = None
    metrics: dict[str, Any] | None = None


@dataclasses.dataclass(frozen=True)
class Sweep(_APIObject):
    id: str = ""
    status: str = "running"
    dataset_id: str | None = None
    method: str = "random"
    metric: dict[str, str] = dataclasses.field(default_factory=dict)
    max_trials: int = 0
    parallelism: int = 1
    trials_sampled: int = 0
    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    epochs_trained: int = 0
    best: Trial | None = None
    config: dict[str, Any] = dataclasses.field(default_factory=dict)
    created_at: str | None = None
    finished_at: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sweep:
        sweep = super().from_dict(data)
        best = data.get("best")
        return dataclasses.replace(sweep, best=None if best is None else Trial.from_dict(best))

    @property
    def done(self) -> bool:
        return self.status in SWEEP_FINAL_STATUSES

    @property
    def finished_trials(self) -> int:
        """Trials that ended, whichever way."""
        return sum(n for status, n in self.counts.items() if status not in ("queued", "running"))

    @property
    def model_id(self) -> str | None:
        """The best trial's model."""
        return None if self.best is None else self.best.model_id


def wait_sweep(client: Client, sweep_id: str, on_progress: Callable[[Sweep], None] | None,
               timeout: float | None, interval: float) -> Sweep:
    """Poll the sweep until it ends; ``on_progress`` sees it each time a count changes."""
    deadline = None if timeout is None else time.monotonic() + timeout
    seen: dict[str, int] | None = None
    while True:
        sweep = client.get_sweep(sweep_id)
        if sweep.counts != seen:
            seen = sweep.counts
            if on_progress is not None:
                on_progress(sweep)
        if sweep.done:
            return sweep
        if deadline is not None and time.monotonic() + interval > deadline:
            raise TimeoutError(f"sweep {sweep_id} did not finish within {timeout} s")
        time.sleep(interval)
