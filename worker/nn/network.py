"""The network: dense layers over one flat parameter vector.

Memory layout. All parameters live in one C-contiguous vector ``[W0, W1, …, b0, b1, …]`` (weights
first, so L2 weight decay is one slice) and the gradients in a second vector of the same layout;
every ``W``/``b`` is a reshaped view. An optimizer therefore updates the whole network in a handful
of vectorized calls, which is what keeps small-batch training cheap in Python.

Standardization. Preprocessing is the pipeline's (``worker.pipeline``); a network used on its own
may hold a fitted ``Standardizer`` so that its public methods take raw inputs:
``net.standardization`` is ``None`` or ``(mean, scale)``, each of shape ``(n_inputs,)``, and when
set every public method taking ``X`` (``forward``, ``loss``, ``loss_and_grads``) first applies
the standardizer. ``train`` fits it on the training part when ``training.standardize`` is true.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from worker.pipeline import Standardizer
from worker.spec import DTYPES, parameter_count
from worker.spec.weights import layer_shape_errors

from .activations import ACTIVATIONS
from .backprop import Masks, Workspace, backpropagate, masked_outputs
from .defaults import fill_network_defaults
from .errors import DataError, SpecError
from .init import initial_weights
from .layers import Dense
from .losses import LOSS_FUNCTIONS

# Rows per forward pass when evaluating: at most 4096, and few enough that the chunk's hidden
# activations (rows × the sum of hidden widths) stay within 2^22 values, so evaluating any number
# of rows on any network holds a bounded amount of memory.
EVAL_CHUNK_ROWS = 4096
EVAL_CHUNK_VALUES = 1 << 22


class Network:
    """A dense feed-forward network; build it with ``Network.from_spec``.

    Attributes
    ----------
    spec : dict
        The complete ``network`` object (defaults filled in).
    sizes : list of int
        ``[n_inputs, units_1, …, n_outputs]``.
    dtype : numpy.dtype
        float32 or float64, for parameters and all computation.
    standardization : tuple of ndarray or None
        ``(mean, scale)`` applied to inputs by the public methods (see module docstring).
    """

    def __init__(
        self, spec: Mapping[str, Any], n_inputs: int, n_outputs: int, dtype: Any = "float32"
    ) -> None:
        self.spec = fill_network_defaults(spec)
        self.dtype = np.dtype(dtype)
        hidden = self.spec["hidden_layers"]
        self.sizes = [n_inputs, *(layer["units"] for layer in hidden), n_outputs]
        self.activations = [layer["activation"] for layer in hidden]
        self.activations.append(self.spec["output_activation"])
        self.loss_name: str = self.spec["loss"]
        shapes = list(zip(self.sizes[:-1], self.sizes[1:], strict=True))
        self.n_weights = sum(fan_in * fan_out for fan_in, fan_out in shapes)
        self.n_parameters = parameter_count(self.sizes)
        self.flat_params = np.zeros(self.n_parameters, self.dtype)
        self.flat_grads = np.zeros(self.n_parameters, self.dtype)
        params, grads = self.unflatten(self.flat_params), self.unflatten(self.flat_grads)
        self.layers = [
            Dense(params[2 * i], params[2 * i + 1], grads[2 * i], grads[2 * i + 1], activation)
            for i, activation in enumerate(self.activations)
        ]
        self._standardizer: Standardizer | None = None

    @classmethod
    def from_spec(
        cls,
        network: Mapping[str, Any],
        n_inputs: int,
        n_outputs: int,
        *,
        seed: int = 0,
        dtype: Any = "float32",
        task: str | None = None,
    ) -> Network:
        """Build and initialize a network from the job spec's ``network`` object.

        ``task`` only matters when ``network`` names neither ``loss`` nor ``output_activation``.
        Raises ``SpecError`` for anything the engine cannot run.
        """
        spec = fill_network_defaults(network, task)
        for name, value in (("n_inputs", n_inputs), ("n_outputs", n_outputs)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise SpecError((name,), f"must be a positive integer, got {value!r}")
        if spec["output_activation"] == "softmax" and n_outputs < 2:
            raise SpecError(
                ("network", "output_activation"),
                "softmax needs at least 2 outputs (one per class); "
                "use sigmoid with binary_cross_entropy for a single output"
            )
        if str(np.dtype(dtype)) not in DTYPES:
            raise SpecError(("dtype",), f"unknown dtype {dtype!r}; expected one of "
                            f"{', '.join(DTYPES)}")
        net = cls(spec, int(n_inputs), int(n_outputs), dtype)
        given = spec.get("initial_weights")
        if given is not None:  # the spec's own parameters (docs/learn.md), biases included
            errors = layer_shape_errors(given, net.sizes)
            if errors:
                raise errors[0]
            net.params = [np.asarray(layer[key], np.float64) for layer in given for key in "Wb"]
            return net
        weights = initial_weights(net.sizes, net.activations, spec["init"], seed)
        for layer, W in zip(net.layers, weights, strict=True):
            layer.W[...] = W
        return net

    # -- parameters -------------------------------------------------------------------------

    def unflatten(self, flat: np.ndarray) -> list[np.ndarray]:
        """Views ``[W0, b0, W1, b1, …]`` into a vector laid out like ``flat_params``."""
        views, w_at, b_at = [], 0, self.n_weights
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:], strict=True):
            views.append(flat[w_at : w_at + fan_in * fan_out].reshape(fan_in, fan_out))
            views.append(flat[b_at : b_at + fan_out])
            w_at, b_at = w_at + fan_in * fan_out, b_at + fan_out
        return views

    @property
    def params(self) -> list[np.ndarray]:
        """``[W0, b0, W1, b1, …]``: live views (W ``(fan_in, fan_out)``, b ``(fan_out,)``).

        Copy them for a snapshot; assigning a list copies the values into the network.
        """
        return self.unflatten(self.flat_params)

    @params.setter
    def params(self, values: Sequence[np.ndarray]) -> None:
        views = self.params
        if len(values) != len(views):
            raise ValueError(f"params: expected {len(views)} arrays, got {len(values)}")
        for i, (view, value) in enumerate(zip(views, values, strict=True)):
            value = np.asarray(value)
            if value.shape != view.shape:
                raise ValueError(f"params[{i}]: expected shape {view.shape}, got {value.shape}")
            np.copyto(view, value, casting="same_kind")

    @property
    def standardization(self) -> tuple[np.ndarray, np.ndarray] | None:
        scaler = self._standardizer
        return None if scaler is None else (scaler.mean, scaler.scale)

    @standardization.setter
    def standardization(self, value: tuple[np.ndarray, np.ndarray] | None) -> None:
        if value is None:
            self._standardizer = None
            return
        scaler = Standardizer.of(value[0], value[1], self.dtype)
        if scaler.width != self.sizes[0]:
            raise ValueError(f"standardization: mean and scale need shape ({self.sizes[0]},)")
        self._standardizer = scaler

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Copies ``{"W0", "b0", "W1", …}`` plus ``"mean"``/``"scale"`` when standardized.

        ``np.savez(file, **net.to_arrays())`` is the model's weights file (docs/api.md).
        """
        arrays = {}
        for i, (W, b) in enumerate(zip(self.params[::2], self.params[1::2], strict=True)):
            arrays[f"W{i}"], arrays[f"b{i}"] = W.copy(), b.copy()
        if self._standardizer is not None:
            arrays.update(self._standardizer.to_arrays())
        return arrays

    @classmethod
    def from_arrays(cls, network: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> Network:
        """Rebuild a network from its spec and ``to_arrays()`` output (e.g. a loaded ``.npz``)."""
        count = len(fill_network_defaults(network)["hidden_layers"]) + 1
        try:
            weights = [np.asarray(arrays[f"{p}{i}"]) for i in range(count) for p in "Wb"]
        except KeyError as missing:
            raise ValueError(f"arrays: missing {missing} for a {count}-layer network") from None
        net = cls(network, weights[0].shape[0], weights[-1].shape[0], weights[0].dtype)
        net.params = weights
        if "mean" in arrays:
            net.standardization = (arrays["mean"], arrays["scale"])
        return net

    def astype(self, dtype: Any) -> Network:
        """A copy of this network (parameters, standardization) in another dtype."""
        net = type(self)(self.spec, self.sizes[0], self.sizes[-1], dtype)
        np.copyto(net.flat_params, self.flat_params, casting="unsafe")
        net.standardization = self.standardization
        return net

    # -- computation ------------------------------------------------------------------------

    def prepare_inputs(self, X: Any) -> np.ndarray:
        """Check ``X`` ``(n, n_inputs)``, standardize (in float64, then cast: see
        ``worker.pipeline.standardize``) or cast to the dtype; C-contiguous."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise ValueError(f"X: expected shape (n, {self.sizes[0]}), got {X.shape}")
        if self._standardizer is not None:
            return self._standardizer.transform(X)
        return np.ascontiguousarray(X, dtype=self.dtype)

    def prepare_targets(self, Y: Any, n: int) -> np.ndarray:
        """Check ``Y`` ``(n, n_outputs)`` (1-D allowed for one output) and cast to the dtype."""
        Y = np.asarray(Y, dtype=self.dtype)
        if Y.ndim == 1 and self.sizes[-1] == 1:
            Y = Y.reshape(-1, 1)
        if Y.shape != (n, self.sizes[-1]):
            raise DataError(f"Y: expected shape ({n}, {self.sizes[-1]}), got {Y.shape}")
        return np.ascontiguousarray(Y)

    def logits_and_outputs(self, Xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Output pre-activations ``Z`` and activations ``A``, each ``(n, n_outputs)``.

        ``Xs`` is already prepared (``prepare_inputs``); hidden layers run in chunks of rows.
        """
        n = Xs.shape[0]
        Z = np.empty((n, self.sizes[-1]), self.dtype)
        chunk = max(1, min(EVAL_CHUNK_ROWS, EVAL_CHUNK_VALUES // max(1, sum(self.sizes[1:-1]))))
        rows = min(n, chunk)
        hidden = [np.empty((rows, units), self.dtype) for units in self.sizes[1:-1]]
        with np.errstate(all="ignore"):
            for start in range(0, n, chunk):
                A = Xs[start : start + chunk]
                m = A.shape[0]
                for layer, out in zip(self.layers[:-1], hidden, strict=True):
                    A = layer.forward(A, out[:m])
                self.layers[-1].linear(A, Z[start : start + m])
            A = ACTIVATIONS[self.activations[-1]](Z.copy())
        return Z, A

    def accumulate_gradients(
        self,
        Xs: np.ndarray,
        Ys: np.ndarray,
        ws: Workspace,
        observe: Callable[..., None] | None = None,
        masks: Masks | None = None,
        w: np.ndarray | None = None,
    ) -> None:
        """Forward and backward pass for one batch; gradients land in ``flat_grads``.

        ``Xs`` ``(m, n_inputs)`` prepared inputs, ``Ys`` ``(m, n_outputs)`` targets, ``ws`` a
        workspace of exactly ``m`` rows; ``masks`` dropout masks per hidden layer and ``w``
        ``(m,)`` row weights (``backprop.backpropagate``). ``observe(A, Ys, w)``, if given, sees
        the output activations before backpropagation overwrites them (the training loop
        accumulates the epoch's metrics there).
        """
        backpropagate(self, Xs, Ys, ws, observe, masks, w)

    def forward(self, X: Any) -> np.ndarray:
        """Output activations for raw inputs ``X`` ``(n, n_inputs)``: shape ``(n, n_outputs)``."""
        return self.logits_and_outputs(self.prepare_inputs(X))[1]

    def loss(self, X: Any, Y: Any, *, masks: Masks | None = None,
             sample_weight: Any = None) -> float:
        """The loss (docs/api.md "Losses") of raw inputs ``X`` against targets ``Y``; with fixed
        dropout ``masks`` (per hidden layer) and row weights ``sample_weight`` ``(n,)``."""
        Xs = self.prepare_inputs(X)
        Ys = self.prepare_targets(Y, Xs.shape[0])
        w = None if sample_weight is None else np.asarray(sample_weight, self.dtype)
        Z, A = self.logits_and_outputs(Xs) if masks is None else masked_outputs(self, Xs, masks)
        with np.errstate(all="ignore"):
            return LOSS_FUNCTIONS[self.loss_name](Ys, Z, A, w)

    def loss_and_grads(self, X: Any, Y: Any, *, masks: Masks | None = None,
                       sample_weight: Any = None) -> tuple[float, list[np.ndarray]]:
        """The loss and its gradients ``[dW0, db0, dW1, …]`` (copies, in ``params`` order).

        Gradients are of the data loss alone: L2 weight decay is applied by the optimizer
        (``g = dLoss/dW + weight_decay * W``, docs/api.md), not included here.
        """
        Xs = self.prepare_inputs(X)
        Ys = self.prepare_targets(Y, Xs.shape[0])
        loss = self.loss(X, Y, masks=masks, sample_weight=sample_weight)
        w = None if sample_weight is None else np.asarray(sample_weight, self.dtype)
        ws = Workspace(self.sizes, Xs.shape[0], self.dtype,
                       [m is not None for m in masks or []])
        with np.errstate(all="ignore"):
            self.accumulate_gradients(Xs, Ys, ws, None, masks, w)
        return loss, [g.copy() for g in self.unflatten(self.flat_grads)]
