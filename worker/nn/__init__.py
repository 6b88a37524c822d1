"""The Descent engine: dense networks trained by backpropagation in pure NumPy.

No I/O, no database, no global RNG; nothing else of ours is imported. See the README ("The
engine"), docs/architecture.md and docs/api.md ("Jobs", "Optimizer updates", "Losses").
"""

from .defaults import fill_network_defaults, fill_training_defaults
from .errors import DataError, DivergedError, SpecError
from .gradcheck import gradcheck, layer_gradcheck
from .loop import fit, run_fit
from .network import Network
from .random import RandomStreams
from .state import TrainingState
from .training import train

__all__ = [
    "DataError",
    "DivergedError",
    "Network",
    "RandomStreams",
    "SpecError",
    "TrainingState",
    "fill_network_defaults",
    "fill_training_defaults",
    "fit",
    "run_fit",
    "gradcheck",
    "layer_gradcheck",
    "train",
]
