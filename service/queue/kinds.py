"""The kinds of job the queue runs, in one registry.

Everything that needs to know the kinds derives from `JOB_KINDS`: enqueue refuses any other name,
the API's job schema lists them, ``/metrics`` reports every one (zeros included), and the worker
looks up the runner here. Adding a kind is one `register` call in this module: the queue, the
schemas and the metrics need no change.

Nothing here imports more than the standard library, so the API process can list the kinds
without importing the worker: a kind names its runner by dotted path (``"package.module:function"``)
and the worker imports it when it runs a job of that kind.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class UnknownJobKind(ValueError):
    """A job kind that is not in the registry."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"unknown job kind {name!r}; the kinds are {', '.join(JOB_KINDS)}")


@dataclass(frozen=True)
class JobKind:
    name: str
    description: str
    # "package.module:function"; the function takes the worker's JobContext and returns None.
    runner: str

    def load_runner(self) -> Callable[[Any], None]:
        """Import the runner (in the worker's training process, never in the API)."""
        module, _, function = self.runner.partition(":")
        runner: Callable[[Any], None] = getattr(importlib.import_module(module), function)
        return runner


JOB_KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    if kind.name in JOB_KINDS:
        raise ValueError(f"job kind {kind.name!r} is registered already")
    if not kind.name or len(kind.name) > 16:  # jobs.kind is String(16)
        raise ValueError(f"job kind names have 1 to 16 characters: {kind.name!r}")
    module, colon, function = kind.runner.partition(":")
    if not (module and colon and function):
        raise ValueError(f"a runner is 'package.module:function', not {kind.runner!r}")
    JOB_KINDS[kind.name] = kind
    return kind


def job_kind(name: str) -> JobKind:
    """The registered kind called ``name``, or `UnknownJobKind`."""
    try:
        return JOB_KINDS[name]
    except KeyError:
        raise UnknownJobKind(name) from None


def kind_names() -> tuple[str, ...]:
    """Every registered kind's name, in registration order."""
    return tuple(JOB_KINDS)


register(
    JobKind(
        name="train",
        description="Train a network on a dataset; produces a model.",
        runner="worker.jobs.train:run_train",
    )
)
register(
    JobKind(
        name="predict",
        description="Apply a model to every row of a stored dataset; produces a prediction.",
        runner="worker.jobs.predict:run_predict",
    )
)
register(
    JobKind(
        name="evaluate",
        description="Evaluate a model on a large dataset with targets; fills in an evaluation.",
        runner="worker.jobs.evaluate:run_evaluate",
    )
)
