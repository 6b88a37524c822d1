"""The training state: everything needed to continue a run bit for bit, as named components.

Each component is the ``state_dict()`` of the part of the run that owns it — ``params`` (the
network's ``[W0, b0, …]``), ``optimizer`` (name, step, moments), ``rng`` (the random streams that
run across epochs: shuffling, dropout masks), ``early_stopping`` (best loss, epoch, parameters),
``lr_schedule`` (the plateau schedule's learning rate, best loss and bad epochs) — and a new
training control adds its own component without touching the others.

Bytes are an ``.npz`` archive (``np.savez``, never pickle): every array a member, everything else
in one JSON member ``meta`` with the format ``version``. ``from_bytes`` reads every earlier
version through ``UPGRADES`` (version ``v`` → ``v + 1``), so a checkpoint written by an older
Descent resumes. The run's history is not part of the state a job checkpoints (its epoch rows are
in the database): ``to_bytes(history=False)``; a run driven by hand keeps it by default.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import numpy as np

FORMAT_VERSION = 2
Arrays = dict[str, np.ndarray]


def _pack(value: Any, name: str, arrays: Arrays) -> Any:
    """JSON for ``value``, with every ndarray moved to ``arrays`` under a path-like name."""
    if isinstance(value, np.ndarray):
        arrays[name] = value
        return {"$array": name}
    if isinstance(value, dict):
        return {key: _pack(item, f"{name}.{key}", arrays) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_pack(item, f"{name}.{i}", arrays) for i, item in enumerate(value)]
    return value


def _unpack(value: Any, arrays: Arrays) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$array"}:
            return arrays[value["$array"]]
        return {key: _unpack(item, arrays) for key, item in value.items()}
    if isinstance(value, list):
        return [_unpack(item, arrays) for item in value]
    return value


def _unflatten(flat: np.ndarray, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """Views ``[W0, b0, …]`` of a flat vector laid out weights first (``Network.flat_params``)."""
    sizes = [int(np.prod(shape)) for shape in shapes]
    weights, biases = sizes[0::2], sizes[1::2]
    starts_w = np.cumsum([0, *weights[:-1]])
    starts_b = sum(weights) + np.cumsum([0, *biases[:-1]])
    views = []
    for i in range(len(weights)):
        views.append(flat[starts_w[i]:starts_w[i] + weights[i]].reshape(shapes[2 * i]))
        views.append(flat[starts_b[i]:starts_b[i] + biases[i]].reshape(shapes[2 * i + 1]))
    return views


class TrainingState:
    """A snapshot taken at the end of an epoch (``train`` hands one to ``on_epoch``).

    Attributes
    ----------
    epoch : int
        Completed epochs (1-based count).
    components : dict of str to dict
        Each part's ``state_dict()`` (see the module docstring).
    """

    def __init__(self, epoch: int, components: dict[str, Any],
                 history: list[dict[str, Any]] | None = None,
                 history_len: int | None = None) -> None:
        self.epoch = int(epoch)
        self.components = components
        # The run's own history list, read up to this epoch's row only when asked for: taking a
        # snapshot every epoch never copies it.
        self._history = history if history is not None else []
        self._history_len = len(self._history) if history_len is None else history_len

    # -- the components' fields, by name ---------------------------------------------------------
    @property
    def params(self) -> list[np.ndarray]:
        """``[W0, b0, W1, b1, …]`` at the end of ``epoch`` (not the restored best)."""
        arrays: list[np.ndarray] = self.components["params"]["arrays"]
        return arrays

    @property
    def optimizer(self) -> str:
        return str(self.components["optimizer"]["name"])

    @property
    def step(self) -> int:
        return int(self.components["optimizer"]["step"])

    @property
    def moments(self) -> dict[str, np.ndarray]:
        moments: dict[str, np.ndarray] = self.components["optimizer"]["moments"]
        return moments

    @property
    def rng_state(self) -> dict[str, Any]:
        """``bit_generator.state`` of the shuffling stream."""
        state: dict[str, Any] = self.components["rng"]["shuffle"]
        return state

    def _stopping(self, key: str, default: Any = None) -> Any:
        return (self.components.get("early_stopping") or {}).get(key, default)

    @property
    def best_loss(self) -> float | None:
        return self._stopping("best_loss")

    @property
    def best_epoch(self) -> int | None:
        return self._stopping("best_epoch")

    @property
    def bad_epochs(self) -> int:
        return int(self._stopping("bad_epochs", 0))

    @property
    def best_params(self) -> list[np.ndarray] | None:
        """Parameters at ``best_epoch`` (kept when ``restore_best``), as ``[W0, b0, …]``."""
        flat = self._stopping("best_flat")
        return None if flat is None else _unflatten(flat, [p.shape for p in self.params])

    @property
    def history(self) -> list[dict[str, Any]]:
        """One metrics row per completed epoch, when the state carries them."""
        return list(self._history[: self._history_len])

    # -- bytes -----------------------------------------------------------------------------------
    def to_bytes(self, *, history: bool = True) -> bytes:
        """Serialize to an ``.npz`` byte string (no pickle); ``history=False`` leaves the
        history rows out (a job's are in the database)."""
        arrays: Arrays = {}
        meta = {
            "version": FORMAT_VERSION,
            "epoch": self.epoch,
            "components": _pack(self.components, "c", arrays),
            "history": self.history if history else None,
        }
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)  # type: ignore[arg-type]
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TrainingState:
        """Inverse of ``to_bytes`` for this and every earlier format; ``ValueError`` otherwise."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            meta = json.loads(arrays.pop("meta").tobytes().decode())
        except (OSError, KeyError, ValueError) as error:
            raise ValueError(f"not a training state: {error}") from None
        version = meta.get("version")
        if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
            raise ValueError(f"training state version {version} is not supported")
        while version < FORMAT_VERSION:
            meta, arrays = UPGRADES[version](meta, arrays)
            version = meta["version"]
        history = meta.get("history")
        return cls(meta["epoch"], _unpack(meta["components"], arrays), history)


def _upgrade_1_to_2(meta: dict[str, Any], arrays: Arrays) -> tuple[dict[str, Any], Arrays]:
    """Format 1: one flat record (params, optimizer, rng, early stopping, standardization and
    history side by side). Standardization is no longer training state: the pipeline refits it
    on the same training rows, to the same values."""
    count = meta["n_params"]
    best = None
    if meta["has_best_params"]:
        best_list = [arrays[f"best_{i}"] for i in range(count)]
        best = np.concatenate([p.ravel() for p in best_list[0::2]]
                              + [p.ravel() for p in best_list[1::2]])
    components = {
        "params": {"arrays": [arrays[f"param_{i}"] for i in range(count)]},
        "optimizer": {"name": meta["optimizer"], "step": meta["step"],
                      "moments": {name: arrays[f"moment_{name}"] for name in meta["moments"]}},
        "rng": {"shuffle": meta["rng_state"]},
        "early_stopping": {"best_loss": meta["best_loss"], "best_epoch": meta["best_epoch"],
                           "bad_epochs": meta["bad_epochs"], "best_flat": best},
    }
    packed: Arrays = {}
    upgraded = {"version": 2, "epoch": meta["epoch"],
                "components": _pack(components, "c", packed), "history": meta["history"]}
    return upgraded, packed


UPGRADES: dict[int, Callable[[dict[str, Any], Arrays], tuple[dict[str, Any], Arrays]]] = {
    1: _upgrade_1_to_2,
}
