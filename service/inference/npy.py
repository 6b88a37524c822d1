"""Predict inputs and answers as NumPy ``.npy`` files (``application/x-npy``).

A request body is one ``.npy`` array ``(n, n_features)`` of numbers (any integer or float
dtype, either byte order, C or Fortran order). It is read in place with ``np.frombuffer`` after
the header, never with ``np.load``: a pickle is never unpickled, and an object, string or
structured dtype is refused (422) before a byte of the data is looked at. NaN is a missing cell
(for a model that imputes), ±inf is refused naming the first cell.

The answer (``Accept: application/x-npy``) is the predictions as one array: class labels
``(n,)`` in their own dtype (integers, floats or fixed-width strings), regression values
``(n,)`` or ``(n, n_targets)`` float64, multilabel membership ``(n, n_labels)`` bool in the
order of the model's labels. Probabilities travel in JSON or Arrow answers.
"""

from __future__ import annotations

import io
import math
import tokenize
from typing import Any

import numpy as np

from service.errors import InvalidInput, field_error

MEDIA = "application/x-npy"
_LOC: list[str | int] = ["body"]
_HEADER_BYTES = 10_000  # as np.load's max_header_size: the header is parsed by literal_eval


def read_npy(body: bytes) -> np.ndarray:
    """The numbers of a ``.npy`` body as an ``(n, d)`` array (a view of ``body``, not a copy);
    ``InvalidInput`` for anything else (a pickle, an object array, strings, a torn file)."""
    stream = io.BytesIO(body)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(
                stream, max_header_size=_HEADER_BYTES)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(
                stream, max_header_size=_HEADER_BYTES)
        else:
            raise ValueError(f".npy format version {version} (1.0 and 2.0 are read)")
    except (ValueError, SyntaxError, TypeError, tokenize.TokenError) as exc:
        raise _invalid(f"the body is not a .npy array ({exc}); send np.save's output of a "
                       "numeric array (pickles are never read)") from None
    if dtype.hasobject:
        raise _invalid("the .npy array has an object dtype, which only a pickle can hold; "
                       "pickles are never read: send numbers (e.g. X.astype('float32'))")
    if dtype.fields is not None or dtype.kind not in "iuf":
        raise _invalid(f"the .npy array's dtype is {dtype.str}; send integers or floats "
                       "(e.g. X.astype('float32'))")
    if len(shape) != 2:
        raise _invalid(f"the .npy array has shape {shape}; send (rows, features), e.g. "
                       "x.reshape(1, -1) for one row")
    if not all(type(size) is int and size >= 0 for size in shape):  # the header is text: (-1, -8)
        raise _invalid(f"the .npy header's shape {shape} is not two sizes ≥ 0; send np.save's "
                       "output")
    count, offset = math.prod(shape), stream.tell()
    if len(body) - offset != count * dtype.itemsize:
        raise _invalid(f"the .npy array of shape {shape} and dtype {dtype.str} needs "
                       f"{count * dtype.itemsize:,} bytes of data; the body has "
                       f"{len(body) - offset:,}")
    flat = np.frombuffer(body, dtype=dtype, count=count, offset=offset)
    return flat.reshape(shape, order="F" if fortran else "C")


def npy_bytes(array: np.ndarray) -> bytes:
    """``array`` as a ``.npy`` file (no pickle: callers pass numbers, bools or strings)."""
    array = np.ascontiguousarray(array)
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, np.lib.format.header_data_from_array_1_0(array))
    out.write(array.tobytes())
    return out.getvalue()


def answer_array(loaded: Any, out: np.ndarray) -> np.ndarray:
    """The predictions of the model's outputs ``out`` ``(n, n_outputs)`` as one array (see the
    module docstring); the same labels and values as the JSON answer."""
    if loaded.task == "classification":
        labels = np.asarray(loaded.classes or [])
        if labels.dtype.kind not in "iufbU":  # mixed labels: their JSON text
            labels = np.asarray([str(c) for c in loaded.classes or []])
        return labels[out.argmax(axis=1)]
    if loaded.task == "multilabel":
        return np.asarray(out > 0.5)  # as `label_sets`: strictly above 0.5
    return np.ascontiguousarray(out[:, 0] if out.shape[1] == 1 else out, dtype=np.float64)


def _invalid(msg: str) -> InvalidInput:
    return InvalidInput(msg, errors=[field_error(_LOC, msg)])
