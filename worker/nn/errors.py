"""The engine's errors: one type per failure a caller handles differently."""

from __future__ import annotations

from worker.spec import SpecError

__all__ = ["DataError", "DivergedError", "SpecError"]


class DataError(ValueError):
    """Data the engine cannot train on (wrong shape, NaN or infinite values); names the cell.

    The job runner reports it as ``INVALID_INPUT`` and never retries.
    """


class DivergedError(ArithmeticError):
    """Training produced a non-finite loss or parameter.

    Attributes
    ----------
    epoch : int
        The 1-based epoch whose end-of-epoch check found the non-finite value.
    """

    def __init__(self, epoch: int, what: str) -> None:
        self.epoch = epoch
        super().__init__(
            f"training diverged at epoch {epoch}: {what}; lower the learning rate"
            " (or standardize the inputs)"
        )
