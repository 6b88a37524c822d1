"""A run's random numbers: named streams, each its own generator, all from ``training.seed``.

``np.random.SeedSequence(seed).spawn(len(STREAMS))`` gives one independent child per name, in the
fixed order of ``STREAMS``; a new stream is appended at the end, so adding one never changes the
numbers of the others (a run from before it is reproduced exactly). Only streams drawn from after
the first epoch need to be in the training state: ``state_dict`` holds the generators made so
far, except ``split`` (drawn once, before training, and drawn again identically on resume).
"""

from __future__ import annotations

from collections.abc import Mapping
from copy import deepcopy
from typing import Any

import numpy as np

# The order is part of the format: append, never reorder.
STREAMS = ("split", "shuffle", "dropout")
ONCE = frozenset({"split"})


class RandomStreams:
    def __init__(self, seed: int) -> None:
        self._seeds = dict(zip(STREAMS, np.random.SeedSequence(seed).spawn(len(STREAMS)),
                               strict=True))
        self._generators: dict[str, np.random.Generator] = {}

    def generator(self, name: str) -> np.random.Generator:
        """The stream called ``name`` (made on first use, then the same object)."""
        if name not in self._generators:
            self._generators[name] = np.random.default_rng(self._seeds[name])
        return self._generators[name]

    def state_dict(self) -> dict[str, Any]:
        """``{name: bit_generator.state}`` of every stream in use that runs across epochs."""
        return {name: deepcopy(dict(rng.bit_generator.state))
                for name, rng in self._generators.items() if name not in ONCE}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for name, bit_state in state.items():
            self.generator(name).bit_generator.state = bit_state
