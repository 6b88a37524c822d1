"""The training state: everything needed to continue a run bit for bit, and its byte form.

Bytes are an ``.npz`` archive (``np.savez``, never pickle): arrays as members, every scalar,
the RNG state and the history in one JSON member ``meta``.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

FORMAT_VERSION = 1


@dataclass
class TrainingState:
    """A snapshot taken at the end of an epoch (``train`` hands one to ``on_epoch``).

    Attributes
    ----------
    params : list of ndarray
        ``[W0, b0, W1, b1, …]`` at the end of ``epoch`` (not the restored best).
    optimizer : str
        The optimizer's name.
    moments : dict of str to ndarray
        The optimizer's flat moment vectors (``{"M", "V"}`` for adam, ``{"V"}`` momentum,
        ``{"S"}`` rmsprop, none for sgd), laid out like ``Network.flat_params``.
    step : int
        Optimizer steps taken (adam's ``t``).
    epoch : int
        Completed epochs (1-based count).
    rng_state : dict
        ``bit_generator.state`` of the shuffling generator.
    best_loss, best_epoch : float or None, int or None
        Early stopping's best monitored loss and its epoch.
    best_params : list of ndarray or None
        Parameters at ``best_epoch`` (kept when ``restore_best``).
    bad_epochs : int
        Epochs since the last improvement.
    standardization : tuple of ndarray or None
        ``(mean, scale)`` fitted on the training part.
    history : list of dict
        One metrics row per completed epoch.
    """

    params: list[np.ndarray]
    optimizer: str
    moments: dict[str, np.ndarray]
    step: int
    epoch: int
    rng_state: dict[str, Any]
    best_loss: float | None = None
    best_epoch: int | None = None
    best_params: list[np.ndarray] | None = None
    bad_epochs: int = 0
    standardization: tuple[np.ndarray, np.ndarray] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        """Serialize to an ``.npz`` byte string (no pickle)."""
        arrays: dict[str, np.ndarray] = {}
        for i, p in enumerate(self.params):
            arrays[f"param_{i}"] = p
        for name, m in self.moments.items():
            arrays[f"moment_{name}"] = m
        for i, p in enumerate(self.best_params or []):
            arrays[f"best_{i}"] = p
        if self.standardization is not None:
            arrays["mean"], arrays["scale"] = self.standardization
        meta = {
            "version": FORMAT_VERSION,
            "n_params": len(self.params),
            "optimizer": self.optimizer,
            "moments": list(self.moments),
            "step": self.step,
            "epoch": self.epoch,
            "rng_state": self.rng_state,
            "best_loss": self.best_loss,
            "best_epoch": self.best_epoch,
            "has_best_params": self.best_params is not None,
            "bad_epochs": self.bad_epochs,
            "history": self.history,
        }
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)  # type: ignore[arg-type]
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TrainingState:
        """Inverse of ``to_bytes``; raises ``ValueError`` for anything else."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            meta = json.loads(arrays.pop("meta").tobytes().decode())
        except (OSError, KeyError, ValueError) as error:
            raise ValueError(f"not a training state: {error}") from None
        if meta.get("version") != FORMAT_VERSION:
            raise ValueError(f"training state version {meta.get('version')} is not supported")
        count = meta["n_params"]
        return cls(
            params=[arrays[f"param_{i}"] for i in range(count)],
            optimizer=meta["optimizer"],
            moments={name: arrays[f"moment_{name}"] for name in meta["moments"]},
            step=meta["step"],
            epoch=meta["epoch"],
            rng_state=meta["rng_state"],
            best_loss=meta["best_loss"],
            best_epoch=meta["best_epoch"],
            best_params=(
                [arrays[f"best_{i}"] for i in range(count)] if meta["has_best_params"] else None
            ),
            bad_epochs=meta["bad_epochs"],
            standardization=(arrays["mean"], arrays["scale"]) if "mean" in arrays else None,
            history=meta["history"],
        )
