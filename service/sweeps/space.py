"""The search space in Optuna's terms, and a trial's parameters set into the base spec.

Optuna sees a ``choice`` as the index of the value (its categorical choices must be plain
scalars; ours may be any JSON value, a list of layers say); our tables keep the values.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from service.sweeps.config import Dimension


class PathError(ValueError):
    """A dotted path that does not lead into the spec."""


def set_path(spec: dict[str, Any], path: str, value: Any) -> None:
    """Set ``spec[a][b]…`` for ``path`` ``"a.b…"`` in place: missing objects are created, a list
    index must exist (``network.hidden_layers.0.units`` needs a first hidden layer)."""
    node: Any = spec
    keys = path.split(".")
    for i, key in enumerate(keys):
        last = i == len(keys) - 1
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise PathError(f"{path}: {'.'.join(keys[:i]) or 'the spec'} has no item {key}")
            if last:
                node[int(key)] = value
            else:
                node = node[int(key)]
        elif isinstance(node, dict):
            if last:
                node[key] = value
            else:
                if node.get(key) is None:
                    if keys[i + 1].isdigit():  # a list item of a list the base does not give
                        raise PathError(f"{path}: the base spec has no {'.'.join(keys[:i + 1])}"
                                        " list to index; give it in base")
                    node[key] = {}
                node = node[key]
        else:
            raise PathError(f"{path}: {'.'.join(keys[:i])} is not an object or a list")


def apply(base: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The base spec with each parameter set at its path (the base is not changed)."""
    spec = copy.deepcopy(base)
    for path in sorted(params):  # a path into a value another path sets comes after it
        set_path(spec, path, copy.deepcopy(params[path]))
    return spec


def distributions(space: dict[str, Dimension]) -> dict[str, Any]:
    """Each path's Optuna distribution."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out: dict[str, Any] = {}
    for path, dim in space.items():
        if dim.uniform is not None:
            out[path] = FloatDistribution(*dim.uniform)
        elif dim.log_uniform is not None:
            out[path] = FloatDistribution(*dim.log_uniform, log=True)
        elif dim.integer is not None:
            out[path] = IntDistribution(*dim.integer)
        else:
            assert dim.choice is not None
            out[path] = CategoricalDistribution(list(range(len(dim.choice))))
    return out


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def to_optuna(space: dict[str, Dimension], params: dict[str, Any]) -> dict[str, Any]:
    """Our parameters as Optuna's (a choice's value → its index)."""
    out: dict[str, Any] = {}
    for path, value in params.items():
        dim = space[path]
        if dim.choice is not None:
            out[path] = next(i for i, c in enumerate(dim.choice) if _same(c, value))
        else:
            out[path] = value
    return out


def from_optuna(space: dict[str, Dimension], params: dict[str, Any]) -> dict[str, Any]:
    """Optuna's parameters as ours (an index → the choice's value), in the space's order."""
    out: dict[str, Any] = {}
    for path, dim in space.items():
        value = params[path]
        out[path] = dim.choice[value] if dim.choice is not None else value
    return out


def corners(space: dict[str, Dimension]) -> list[dict[str, Any]]:
    """Parameters to check a sweep with before it starts: every dimension at its low end, at
    its high end, and each choice once (the other dimensions at their low end)."""
    low = {p: (d.choice[0] if d.choice is not None else (d.uniform or d.log_uniform
                                                            or d.integer)[0])  # type: ignore[index]
           for p, d in space.items()}
    high = {p: (d.choice[-1] if d.choice is not None else (d.uniform or d.log_uniform
                                                              or d.integer)[1])  # type: ignore[index]
            for p, d in space.items()}
    out = [low, high]
    for path, dim in space.items():
        for value in (dim.choice or [])[1:-1]:
            out.append({**low, path: value})
    return out


def grid_size(space: dict[str, Dimension]) -> int | None:
    """Points in the grid, or None when a dimension is continuous (no grid)."""
    size = 1
    for dim in space.values():
        if dim.choice is not None:
            size *= len(dim.choice)
        elif dim.integer is not None:
            size *= dim.integer[1] - dim.integer[0] + 1
        else:
            return None
    return size
