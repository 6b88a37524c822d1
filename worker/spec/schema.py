"""The field types the job spec is declared with: each knows its default, its bounds, how to check
and fill a value, and its JSON schema.

One declaration serves every consumer: the engine fills and checks with ``fill`` (raising
``SpecError`` with the field's ``loc``), the API derives its pydantic models and JSON schema from
the same objects (``service.specs.models``), the estimate and the CLI read the defaults. Pure
Python: no NumPy, no web framework.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Loc = tuple[str | int, ...]
MISSING: Any = object()  # "no default": the field is required


def loc_text(loc: Loc) -> str:
    """``("network", "hidden_layers", 1, "units")`` → ``network.hidden_layers[1].units``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


class SpecError(ValueError):
    """A spec that cannot run. ``loc`` is the field's path, ``msg`` says what to change; the
    text is ``"network.hidden_layers[1].activation: unknown activation 'relux'; …"``."""

    def __init__(self, loc: Loc, msg: str) -> None:
        self.loc: Loc = tuple(loc)
        self.msg = msg
        super().__init__(f"{loc_text(self.loc)}: {msg}" if self.loc else msg)


def _choices(values: Any) -> str:
    return ", ".join(map(str, values))


@dataclass(frozen=True)
class Field:
    """Base: a default (``MISSING`` = required), ``nullable`` (``None`` means off), a doc line."""

    default: Any = MISSING
    nullable: bool = False
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is MISSING

    def default_value(self) -> Any:
        return copy.deepcopy(self.default)

    def fill(self, value: Any, loc: Loc) -> Any:
        """The checked, completed value; ``SpecError`` at ``loc`` otherwise."""
        if value is None and self.nullable:
            return None
        return self._fill(value, loc)

    def _fill(self, value: Any, loc: Loc) -> Any:
        raise NotImplementedError

    def json_schema(self) -> dict[str, Any]:
        schema = self._schema()
        if self.doc:
            schema["description"] = self.doc
        if self.nullable:
            schema = {"anyOf": [schema, {"type": "null"}], "description": self.doc}
        if not self.required:
            schema["default"] = self.default
        return schema

    def _schema(self) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(frozen=True)
class Integer(Field):
    ge: int | None = None
    le: int | None = None
    hint: str = "an integer"

    def _fill(self, value: Any, loc: Loc) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(loc, f"expected an integer, got {value!r}")
        if self.ge is not None and value < self.ge:
            raise SpecError(loc, f"must be at least {self.ge}, got {value}")
        if self.le is not None and value > self.le:
            raise SpecError(loc, f"must be at most {self.le}, got {value}")
        return value

    def _schema(self) -> dict[str, Any]:
        bounds = {"minimum": self.ge, "maximum": self.le}
        return {"type": "integer", **{k: v for k, v in bounds.items() if v is not None}}


@dataclass(frozen=True)
class Number(Field):
    ge: float | None = None
    gt: float | None = None
    lt: float | None = None

    def _fill(self, value: Any, loc: Loc) -> float:
        finite = isinstance(value, int | float) and math.isfinite(value)
        if isinstance(value, bool) or not finite:
            raise SpecError(loc, f"expected a finite number, got {value!r}")
        low_ok = (self.ge is None or value >= self.ge) and (self.gt is None or value > self.gt)
        if not low_ok or (self.lt is not None and value >= self.lt):
            raise SpecError(loc, f"must be {self.bounds_text()}, got {value}")
        return float(value)

    def bounds_text(self) -> str:
        parts = [f"≥ {float(self.ge)}"] if self.ge is not None else []
        parts += [f"> {float(self.gt)}"] if self.gt is not None else []
        parts += [f"< {float(self.lt)}"] if self.lt is not None else []
        return " and ".join(parts)

    def _schema(self) -> dict[str, Any]:
        bounds = {"minimum": self.ge, "exclusiveMinimum": self.gt, "exclusiveMaximum": self.lt}
        return {"type": "number", **{k: v for k, v in bounds.items() if v is not None}}


@dataclass(frozen=True)
class Boolean(Field):
    def _fill(self, value: Any, loc: Loc) -> bool:
        if not isinstance(value, bool):
            raise SpecError(loc, f"expected true or false, got {value!r}")
        return value

    def _schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


@dataclass(frozen=True)
class Text(Field):
    min_length: int = 0
    max_length: int | None = None

    def _fill(self, value: Any, loc: Loc) -> str:
        if not isinstance(value, str):
            raise SpecError(loc, f"expected a string, got {value!r}")
        if len(value) < self.min_length or (self.max_length and len(value) > self.max_length):
            raise SpecError(loc, f"must be {self.min_length} to {self.max_length} characters")
        return value

    def _schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "minLength": self.min_length}
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        return schema


@dataclass(frozen=True)
class Choice(Field):
    """One of ``choices``; ``what`` names it in messages ("unknown activation 'relux'").
    ``refused`` maps a known-but-misplaced value to the sentence that explains it."""

    choices: tuple[str, ...] = ()
    what: str = "value"
    refused: Mapping[str, str] = field(default_factory=dict)

    def _fill(self, value: Any, loc: Loc) -> str:
        if isinstance(value, str) and value in self.refused:
            raise SpecError(loc, f"{self.refused[value]}; expected one of "
                                 f"{_choices(self.choices)}")
        if not isinstance(value, str) or value not in self.choices:
            raise SpecError(loc, f"unknown {self.what} {value!r}; expected one of "
                                 f"{_choices(self.choices)}")
        return value

    def _schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.choices)}


@dataclass(frozen=True)
class Object(Field):
    """A JSON object of named ``fields``; unknown keys are refused (a typo never silently falls
    back to a default). ``name`` names its API model (``NetworkSpec``)."""

    name: str = ""
    fields: Mapping[str, Field] = field(default_factory=dict)

    def default_value(self) -> Any:
        if self.default is MISSING or self.default is None:
            return copy.deepcopy(self.default)
        return self.fill(self.default, ())

    def check_keys(self, value: Any, loc: Loc, allowed: Any = None) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise SpecError(loc, f"expected an object, got {type(value).__name__}")
        allowed = self.fields if allowed is None else allowed
        for key in value:
            if key not in allowed:
                raise SpecError(loc, f"unknown field {key!r}; expected one of "
                                     f"{_choices(allowed)}")
        return value

    def _fill(self, value: Any, loc: Loc) -> dict[str, Any]:
        value = self.check_keys(value, loc)
        filled: dict[str, Any] = {}
        for key, spec in self.fields.items():
            if key in value:
                filled[key] = spec.fill(value[key], (*loc, key))
            elif spec.required:
                hint = getattr(spec, "hint", "a value")
                raise SpecError((*loc, key), f"required ({hint})")
            else:
                filled[key] = spec.default_value()
        return filled

    def _schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {key: spec.json_schema() for key, spec in self.fields.items()},
            "required": [key for key, spec in self.fields.items() if spec.required],
            "additionalProperties": False,
        }


@dataclass(frozen=True)
class ListOf(Field):
    item: Field = field(default_factory=Field)

    def _fill(self, value: Any, loc: Loc) -> list[Any]:
        if not isinstance(value, list):
            names = _choices(getattr(self.item, "fields", {})) or "items"
            raise SpecError(loc, f"expected a list of {{{names}}} objects")
        return [self.item.fill(entry, (*loc, i)) for i, entry in enumerate(value)]

    def _schema(self) -> dict[str, Any]:
        return {"type": "array", "items": self.item.json_schema()}


@dataclass(frozen=True)
class Tagged(Field):
    """One of several objects told apart by their ``tag`` field (``{"name": "adam", …}``).

    ``shorthand``: a bare string is ``{tag: string}``, and an object without the tag takes
    ``default_tag``. A field of another variant is "not a parameter of" this one.
    """

    tag: str = "name"
    what: str = "value"
    variants: Mapping[str, Object] = field(default_factory=dict)
    default_tag: str = ""

    def expand(self, value: Any) -> Any:
        if isinstance(value, str):
            return {self.tag: value}
        if isinstance(value, Mapping) and self.tag not in value and self.default_tag:
            return {self.tag: self.default_tag, **value}
        return value

    def default_value(self) -> Any:
        return None if self.default is None else self.fill(self.default, ())

    def _fill(self, value: Any, loc: Loc) -> dict[str, Any]:
        value = self.expand(value)
        every = {self.tag, *(k for v in self.variants.values() for k in v.fields)}
        value = Object().check_keys(value, loc, allowed=every)
        tag = Choice(choices=tuple(self.variants), what=self.what).fill(
            value.get(self.tag), (*loc, self.tag)
        )
        variant = self.variants[tag]
        for key in value:
            if key != self.tag and key not in variant.fields:
                raise SpecError((*loc, key), f"not a parameter of {tag}; {tag} takes "
                                             f"{_choices(variant.fields)}")
        return {self.tag: tag, **variant.fill({k: v for k, v in value.items()
                                               if k != self.tag}, loc)}

    def _schema(self) -> dict[str, Any]:
        options = []
        for tag, variant in self.variants.items():
            schema = variant.json_schema()
            schema["properties"] = {self.tag: {"const": tag}, **schema["properties"]}
            schema["required"] = [self.tag, *schema["required"]]
            options.append(schema)
        return {"oneOf": options, "discriminator": {"propertyName": self.tag}}


def numeric_fields(spec: Field, loc: Loc = ()) -> list[tuple[Loc, Integer | Number]]:
    """Every ``Integer`` and ``Number`` under ``spec`` with its path (variants by tag name)."""
    if isinstance(spec, Integer | Number):
        return [(loc, spec)]
    found: list[tuple[Loc, Integer | Number]] = []
    if isinstance(spec, Object):
        for key, child in spec.fields.items():
            found += numeric_fields(child, (*loc, key))
    elif isinstance(spec, ListOf):
        found += numeric_fields(spec.item, (*loc, 0))
    elif isinstance(spec, Tagged):
        for tag, variant in spec.variants.items():
            found += numeric_fields(variant, (*loc, tag))
    return found
