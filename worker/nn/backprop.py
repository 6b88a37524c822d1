"""One batch's forward and backward pass (``Network.accumulate_gradients``), with dropout masks
(``dropout``) and row weights (``class_weights``) when the run uses them.

Shapes: ``Xs`` ``(m, n_inputs)``, ``Ys`` ``(m, n_outputs)``; hidden layer ``i`` outputs
``acts[i]`` ``(m, units_i)``. With a mask ``M_i`` the next layer reads ``D_i = acts[i] ⊙ M_i``
(``dropped[i]``) and the gradient reaching ``acts[i]`` is ``dL/dD_i ⊙ M_i``; ``acts[i]`` itself
stays unmasked because the activation's derivative is computed from it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .activations import ACTIVATIONS
from .losses import inplace_output_delta

if TYPE_CHECKING:
    from .network import Network

Masks = Sequence[np.ndarray | None]


class Workspace:
    """Preallocated per-batch buffers for ``n`` rows: activations, input gradients, scratch;
    for each hidden layer with a ``True`` in ``dropout``, its mask, its uniform draws and its
    masked activations."""

    def __init__(self, sizes: Sequence[int], n: int, dtype: np.dtype,
                 dropout: Sequence[bool] = ()) -> None:
        self.acts = [np.empty((n, units), dtype) for units in sizes[1:]]
        self.dLdA = [np.empty((n, units), dtype) for units in sizes[1:-1]]
        self.scratch = np.empty((n, sizes[-1]), dtype)
        on = list(dropout) + [False] * (len(sizes) - 2 - len(dropout))
        self.masks: list[np.ndarray | None] = [
            np.empty((n, units), dtype) if use else None
            for units, use in zip(sizes[1:-1], on, strict=True)]
        self.dropped: list[Any] = [None if m is None else np.empty_like(m) for m in self.masks]
        # the uniform draws behind each mask (float64 whatever the dtype: see ``dropout``)
        self.uniform: list[np.ndarray | None] = [
            None if m is None else np.empty(m.shape) for m in self.masks]


def backpropagate(
    net: Network, Xs: np.ndarray, Ys: np.ndarray, ws: Workspace,
    observe: Callable[..., None] | None = None, masks: Masks | None = None,
    w: np.ndarray | None = None,
) -> None:
    """Gradients of the batch loss into ``net.flat_grads`` (see the module docstring).

    ``masks`` (one per hidden layer, or None) are applied after the layers' activations;
    ``w`` ``(m,)`` weighs the rows' losses (``Σ w ℓ / Σ w``). ``observe(A, Ys, w)`` sees the
    output activations before they are overwritten.
    """
    layers, acts, dLdA = net.layers, ws.acts, ws.dLdA
    masks = masks or [None] * (len(layers) - 1)
    inputs: list[Any] = [Xs]
    A = Xs
    for i, (layer, out) in enumerate(zip(layers, acts, strict=True)):
        A = layer.forward(A, out)
        mask = masks[i] if i < len(masks) else None
        if mask is not None:
            A = np.multiply(A, mask, out=ws.dropped[i])
        inputs.append(A)
    if observe is not None:
        observe(A, Ys, w)
    dLdZ = inplace_output_delta(net.activations[-1], net.loss_name, A, Ys, ws.scratch, w)
    for i in range(len(layers) - 1, 0, -1):
        layers[i].backward(inputs[i], dLdZ, dLdA[i - 1])
        if masks[i - 1] is not None:
            dLdA[i - 1] *= masks[i - 1]
        dLdZ = layers[i - 1].activation_backward(acts[i - 1], dLdA[i - 1])
    layers[0].backward(Xs, dLdZ)


def masked_outputs(net: Network, Xs: np.ndarray, masks: Masks) -> tuple[np.ndarray, np.ndarray]:
    """Output pre-activations and activations ``(m, n_outputs)`` with fixed dropout ``masks``
    (the forward pass of ``backpropagate``; ``gradcheck`` differentiates it)."""
    A = Xs
    for i, layer in enumerate(net.layers[:-1]):
        A = layer.forward(A, np.empty((A.shape[0], layer.W.shape[1]), net.dtype))
        if masks[i] is not None:
            A = A * masks[i]
    Z = net.layers[-1].linear(A, np.empty((A.shape[0], net.sizes[-1]), net.dtype))
    return Z, ACTIVATIONS[net.activations[-1]](Z.copy())
