"""Optimizers (docs/api.md "Optimizer updates"), each an object owning its moment vectors.

An optimizer updates the network's flat parameter vector from the flat gradient vector in place.
The vectors are walked in chunks of ``CHUNK`` entries (views made once, up front), so a step is
a handful of ufunc calls per chunk and nothing else, and the scratch vector stays small.

With ``g = dLoss/dW + weight_decay * W`` (weights only, never biases):

* ``sgd``:      ``W -= lr g``
* ``momentum``: ``V = beta V + (1 - beta) g;  W -= lr V``
* ``rmsprop``:  ``S = beta S + (1 - beta) g²;  W -= lr g / (sqrt(S) + epsilon)``
* ``adam``:     ``M = beta1 M + (1 - beta1) g;  V = beta2 V + (1 - beta2) g²;
  W -= lr M̂ / (sqrt(V̂) + epsilon)`` with ``M̂ = M / (1 - beta1^t)``, ``V̂ = V / (1 - beta2^t)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

# Entries per pass. Smaller chunks would keep every pass in L2, but each costs ten more ufunc
# calls; measured on the benchmark workloads, chunks of 2^18 are as fast as one pass over
# everything and keep the scratch vector at 1 MB (float32) for big networks.
CHUNK = 1 << 18


class Optimizer:
    """Base: moment bookkeeping, weight decay, chunking. Subclasses write ``_update``.

    Parameters
    ----------
    params, grads : ndarray of shape (n_parameters,)
        The network's flat parameter and gradient vectors (updated / read in place).
    n_weights : int
        ``params[:n_weights]`` are weights (decayed), the rest biases.
    weight_decay : float
    **hyper : float
        ``learning_rate`` and the optimizer's own parameters.
    """

    name: ClassVar[str]
    moment_names: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        params: np.ndarray,
        grads: np.ndarray,
        n_weights: int,
        *,
        weight_decay: float = 0.0,
        **hyper: float,
    ) -> None:
        self.hyper = {key: float(value) for key, value in hyper.items()}
        self.learning_rate = self.hyper["learning_rate"]
        self.weight_decay = float(weight_decay)
        self.step_count = 0
        self.moments = {name: np.zeros_like(params) for name in self.moment_names}
        scratch = np.empty(min(CHUNK, params.size), params.dtype)
        self._chunks = []
        for start in range(0, params.size, CHUNK):
            stop = min(start + CHUNK, params.size)
            moments = [m[start:stop] for m in self.moments.values()]
            decay = max(0, min(stop, n_weights) - start)
            self._chunks.append(
                (params[start:stop], grads[start:stop], moments, scratch[: stop - start], decay)
            )

    def step(self) -> None:
        """Apply one update from the current gradients (which may be clobbered)."""
        self.step_count += 1
        coefficients = self._coefficients()
        decay = self.weight_decay
        update = self._update
        for W, g, moments, tmp, n_decayed in self._chunks:
            if decay and n_decayed:
                np.multiply(W[:n_decayed], decay, out=tmp[:n_decayed])
                g[:n_decayed] += tmp[:n_decayed]
            update(W, g, tmp, *moments, *coefficients)

    def _coefficients(self) -> tuple[float, ...]:
        return ()

    def _update(self, W: np.ndarray, g: np.ndarray, tmp: np.ndarray, *args: Any) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """``{"name", "step": t, "moments": {name: copy}}``."""
        return {"name": self.name, "step": self.step_count,
                "moments": {k: v.copy() for k, v in self.moments.items()}}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Copy a ``state_dict()`` back in (into the existing vectors: chunk views stay valid)."""
        self.step_count = int(state["step"])
        for name, vector in self.moments.items():
            np.copyto(vector, state["moments"][name])


class SGD(Optimizer):
    name = "sgd"

    def _update(self, W: np.ndarray, g: np.ndarray, tmp: np.ndarray, *args: Any) -> None:
        np.multiply(g, self.learning_rate, out=tmp)
        W -= tmp


class Momentum(Optimizer):
    name = "momentum"
    moment_names = ("V",)

    def _update(self, W: np.ndarray, g: np.ndarray, tmp: np.ndarray, *args: Any) -> None:
        (V,) = args
        beta = self.hyper["beta"]
        V *= beta
        np.multiply(g, 1.0 - beta, out=tmp)
        V += tmp
        np.multiply(V, self.learning_rate, out=tmp)
        W -= tmp


class RMSProp(Optimizer):
    name = "rmsprop"
    moment_names = ("S",)

    def _update(self, W: np.ndarray, g: np.ndarray, tmp: np.ndarray, *args: Any) -> None:
        (S,) = args
        beta = self.hyper["beta"]
        S *= beta
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - beta
        S += tmp
        np.sqrt(S, out=tmp)
        tmp += self.hyper["epsilon"]
        np.divide(g, tmp, out=tmp)
        tmp *= self.learning_rate
        W -= tmp


class Adam(Optimizer):
    """Adam, with its moments kept pre-divided: ``Ms = M / (1 - beta1)``, ``Vs = V / (1 - beta2)``.

    Then ``Ms = beta1 Ms + g`` and ``Vs = beta2 Vs + g²`` need no multiply by ``1 - beta``, and
    ``lr M̂ / (sqrt(V̂) + eps) = a Ms / (sqrt(Vs) + eps / c)`` with ``c = sqrt((1 - beta2) /
    (1 - beta2^t))`` and ``a = lr (1 - beta1) / ((1 - beta1^t) c)``: ten passes per step instead
    of thirteen, the same update up to rounding. ``moments`` (and ``TrainingState.moments``) hold
    ``Ms`` and ``Vs`` under the names ``"M"`` and ``"V"``.
    """

    name = "adam"
    moment_names = ("M", "V")

    def _coefficients(self) -> tuple[float, ...]:
        # plain Python floats: weak scalars keep float32 arithmetic in float32
        t, beta1, beta2 = self.step_count, self.hyper["beta1"], self.hyper["beta2"]
        c = ((1.0 - beta2) / (1.0 - beta2**t)) ** 0.5
        step_size = self.learning_rate * (1.0 - beta1) / ((1.0 - beta1**t) * c)
        return beta1, beta2, self.hyper["epsilon"] / c, step_size

    def _update(self, W: np.ndarray, g: np.ndarray, tmp: np.ndarray, *args: Any) -> None:
        Ms, Vs, beta1, beta2, epsilon, step_size = args
        Ms *= beta1
        Ms += g
        g *= g  # the gradient is not needed after this step
        Vs *= beta2
        Vs += g
        np.sqrt(Vs, out=tmp)
        tmp += epsilon
        np.divide(Ms, tmp, out=tmp)
        tmp *= step_size
        W -= tmp


OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Momentum, RMSProp, Adam)
}


def make_optimizer(
    spec: Mapping[str, Any], params: np.ndarray, grads: np.ndarray, n_weights: int,
    weight_decay: float = 0.0,
) -> Optimizer:
    """Build the optimizer named by a filled ``training.optimizer`` object."""
    hyper = {key: value for key, value in spec.items() if key != "name"}
    return OPTIMIZERS[spec["name"]](
        params, grads, n_weights, weight_decay=weight_decay, **hyper
    )
