"""Learning-rate schedules, stepped once per epoch like ``torch.optim.lr_scheduler``.

Epochs ``e`` count from 0 (the loop's epoch 1 is ``e = 0``); ``lr0`` is the optimizer's
``learning_rate``. With ``training.warmup_epochs`` ``W``, epochs ``e < W`` train at
``lr0·(e+1)/W`` and the schedule then runs on ``s = e − W``:

* none:        ``lr0``
* step:        ``lr0·gamma^⌊s/step_size⌋``                      (``StepLR``)
* exponential: ``lr0·gamma^s``                                  (``ExponentialLR``)
* cosine:      ``eta_min + (lr0 − eta_min)(1 + cos(π·s/t_max))/2`` (``CosineAnnealingLR``)
* plateau:     ``ReduceLROnPlateau(mode="min", threshold_mode="rel", cooldown=0, eps=1e-8)``
  on the monitored loss (``val_loss``, else ``loss``) of each epoch ``s ≥ 0``: the loss
  improves when ``loss < best·(1 − threshold)`` (``best`` starts at +∞); after more than
  ``patience`` epochs in a row without improvement, ``lr ← max(lr·factor, min_lr)`` (kept when
  that changes it by no more than 1e-8) and the count restarts.

The closed forms are functions of ``e`` alone; plateau keeps ``lr``, ``best`` and its count of
bad epochs, the ``lr_schedule`` component of the training state (a resumed run goes on exactly).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

# torch's ReduceLROnPlateau(eps=1e-8): a reduction smaller than this is not applied.
PLATEAU_EPS = 1e-8


class Schedule:
    """The learning rate of each epoch: ``rate(e)`` before it runs, ``observe(e, loss)`` after."""

    def __init__(self, lr0: float, spec: Mapping[str, Any] | None, warmup: int = 0) -> None:
        self.lr0, self.warmup = float(lr0), int(warmup)
        self.spec: dict[str, Any] = dict(spec) if spec else {"name": "constant"}
        self.name = str(self.spec["name"])
        # plateau's state
        self.lr, self.best, self.bad_epochs = self.lr0, math.inf, 0

    def rate(self, e: int) -> float:
        """The learning rate of epoch ``e`` (0-based)."""
        if e < self.warmup:
            return self.lr0 * (e + 1) / self.warmup
        s, spec, lr0 = e - self.warmup, self.spec, self.lr0
        if self.name == "step":
            return float(lr0 * spec["gamma"] ** (s // spec["step_size"]))
        if self.name == "exponential":
            return float(lr0 * spec["gamma"] ** s)
        if self.name == "cosine":
            eta_min = spec["eta_min"]
            return eta_min + (lr0 - eta_min) * (1.0 + math.cos(math.pi * s / spec["t_max"])) / 2
        if self.name == "plateau":
            return self.lr
        return lr0

    def observe(self, e: int, loss: float) -> None:
        """Epoch ``e`` ended with the monitored ``loss`` (only plateau listens)."""
        if self.name != "plateau" or e < self.warmup:
            return
        spec = self.spec
        if loss < self.best * (1.0 - spec["threshold"]):
            self.best, self.bad_epochs = float(loss), 0
        else:
            self.bad_epochs += 1
        if self.bad_epochs > spec["patience"]:
            new_lr = max(self.lr * spec["factor"], spec["min_lr"])
            if self.lr - new_lr > PLATEAU_EPS:
                self.lr = new_lr
            self.bad_epochs = 0

    def state_dict(self) -> dict[str, Any]:
        return {"name": self.name, "lr": self.lr, "best": self.best,
                "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.lr, self.best = float(state["lr"]), float(state["best"])
        self.bad_epochs = int(state["bad_epochs"])
