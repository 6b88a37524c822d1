"""Gradient clipping by the global norm, as ``torch.nn.utils.clip_grad_norm_``.

``g`` is the loss gradient of all parameters together (the flat gradient vector, before the
optimizer adds weight decay): ``g ← g · min(1, c / (‖g‖₂ + 1e-6))``.
"""

from __future__ import annotations

import numpy as np

# torch adds this to the norm so that a zero gradient never divides by zero
NORM_EPS = 1e-6


def clip_grad_norm(grads: np.ndarray, max_norm: float) -> float:
    """Scale ``grads`` ``(n_parameters,)`` in place; returns ``‖g‖₂`` before clipping."""
    norm = float(np.sqrt(np.dot(grads, grads)))
    coefficient = max_norm / (norm + NORM_EPS)
    if coefficient < 1.0:
        grads *= coefficient
    return norm
