"""Early stopping: watch the monitored loss, stop after ``patience`` epochs without improvement.

Its state (best loss and epoch, epochs since, and the best parameters when ``restore_best``)
is a component of the training state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


class EarlyStopping:
    """``exhausted`` once ``patience`` epochs brought no improvement of more than
    ``min_delta``; ``best_flat`` keeps the best epoch's flat parameters (``restore_best``)."""

    def __init__(self, patience: int, min_delta: float, restore_best: bool, size: int,
                 dtype: np.dtype) -> None:
        self.patience, self.min_delta, self.restore_best = patience, min_delta, restore_best
        self.best_loss: float | None = None
        self.best_epoch: int | None = None
        self.bad_epochs = 0
        self.best_flat = np.empty(size, dtype) if restore_best else None

    @classmethod
    def from_spec(cls, stopping: Mapping[str, Any] | None, size: int,
                  dtype: np.dtype) -> EarlyStopping | None:
        if stopping is None:
            return None
        return cls(stopping["patience"], stopping["min_delta"], stopping["restore_best"], size,
                   dtype)

    def update(self, loss: float, epoch: int, flat_params: np.ndarray) -> None:
        if self.best_loss is None or loss < self.best_loss - self.min_delta:
            self.best_loss, self.best_epoch, self.bad_epochs = loss, epoch, 0
            if self.best_flat is not None:
                np.copyto(self.best_flat, flat_params)
        else:
            self.bad_epochs += 1

    @property
    def exhausted(self) -> bool:
        return self.bad_epochs > 0 and self.bad_epochs >= self.patience

    @property
    def best_params(self) -> np.ndarray | None:
        """The best epoch's flat parameters, once there is a best epoch to restore."""
        return self.best_flat if self.best_epoch is not None else None

    def state_dict(self) -> dict[str, Any]:
        best = self.best_params
        return {"best_loss": self.best_loss, "best_epoch": self.best_epoch,
                "bad_epochs": self.bad_epochs, "best_flat": None if best is None else best.copy()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.best_loss, self.best_epoch = state["best_loss"], state["best_epoch"]
        self.bad_epochs = int(state["bad_epochs"])
        if self.best_flat is not None and state.get("best_flat") is not None:
            np.copyto(self.best_flat, state["best_flat"])
