"""The job spec's API models, built from its one declaration (``worker.spec``).

``pydantic_model`` turns each ``Object`` of the declaration into a pydantic model (unknown fields
refused, NaN/Infinity refused, every bound and default taken from the declaration), so FastAPI
checks the body, documents it in the OpenAPI schema and answers 422 with each field's ``loc``
without a second definition of any field. A tagged object (the optimizer) becomes a discriminated
union; its shorthand (a bare name, or no name → adam) is applied before validation.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model, field_validator

from worker import spec as declared
from worker.spec.schema import (
    Boolean,
    Choice,
    Integer,
    ListOf,
    Number,
    Object,
    Tagged,
    Text,
)
from worker.spec.schema import Field as Declared


class _Spec(BaseModel):
    # NaN/Infinity reach the checks of `Any` fields (initial_weights) named, not as null.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, ser_json_inf_nan="strings")


def _constraints(spec: Declared) -> dict[str, Any]:
    if isinstance(spec, Integer):
        return {"ge": spec.ge, "le": spec.le}
    if isinstance(spec, Number):
        return {"ge": spec.ge, "gt": spec.gt, "lt": spec.lt}
    if isinstance(spec, Text):
        return {"min_length": spec.min_length, "max_length": spec.max_length}
    return {}


def _annotation(spec: Declared) -> Any:
    if isinstance(spec, Integer):
        base: Any = int
    elif isinstance(spec, Number):
        base = float
    elif isinstance(spec, Boolean):
        base = bool
    elif isinstance(spec, Text):
        base = str
    elif isinstance(spec, Choice):
        base = Literal[spec.choices]
    elif isinstance(spec, Object):
        base = pydantic_model(spec)
    elif isinstance(spec, ListOf):
        base = list[_annotation(spec.item)]  # type: ignore[misc]
    elif hasattr(spec, "api_annotation"):  # a field declaring its own type (class_weight)
        base = spec.api_annotation()
    elif isinstance(spec, Tagged):
        variants = tuple(pydantic_model(v, tag=(spec.tag, t)) for t, v in spec.variants.items())
        base = Annotated[Union[variants], Field(discriminator=spec.tag)]  # noqa: UP007
    else:
        raise TypeError(f"no API type for {type(spec).__name__}")
    return base | None if spec.nullable else base


def _field(spec: Declared) -> Any:
    options: dict[str, Any] = {k: v for k, v in _constraints(spec).items() if v is not None}
    if spec.doc:
        options["description"] = spec.doc
    factory = _default_factory(spec)
    if spec.required:
        options["default"] = ...
    elif factory is not None:
        options["default_factory"] = factory
    else:
        options["default"] = spec.default
    return Field(**options)


def _default_factory(spec: Declared) -> Any:
    """Objects as defaults are built fresh for every request (never a shared instance)."""
    value = spec.default
    if isinstance(spec, Object) and value is not None:
        model = pydantic_model(spec)
        return lambda: model.model_validate(value)
    if isinstance(spec, Tagged) and value is not None:
        adapter: TypeAdapter[Any] = TypeAdapter(_annotation(spec))
        return lambda: adapter.validate_python(spec.expand(value))
    if isinstance(spec, ListOf) and isinstance(spec.item, Object):
        item = pydantic_model(spec.item)
        return lambda: [item.model_validate(v) for v in value]
    return None


_MODELS: dict[tuple[str, str], type[BaseModel]] = {}


def pydantic_model(spec: Object, *, tag: tuple[str, str] | None = None) -> type[BaseModel]:
    """The pydantic model of a declared ``Object`` (cached by name: one class per model)."""
    key = (spec.name, tag[1] if tag else "")
    if key in _MODELS:
        return _MODELS[key]
    fields: dict[str, Any] = {}
    if tag is not None:
        fields[tag[0]] = (Literal[tag[1]], ...)
    validators: dict[str, Any] = {}
    for name, child in spec.fields.items():
        annotation = _annotation(child)
        fields[name] = (annotation, _field(child))
        if isinstance(child, Tagged):
            validators[f"_{name}_shorthand"] = field_validator(name, mode="before")(
                _shorthand(child)
            )
    model = create_model(spec.name, __base__=_Spec, __validators__=validators, **fields)
    _MODELS[key] = model
    return model


def _shorthand(spec: Tagged) -> Any:
    def expand(cls: Any, value: Any) -> Any:
        return spec.expand(value)

    return classmethod(expand)


_Job: Any = pydantic_model(declared.JOB)


class JobSubmit(_Job):
    """The body of ``POST /v1/jobs`` and ``/v1/jobs/estimate`` (fields from ``worker.spec.JOB``)."""


NetworkSpec = pydantic_model(declared.NETWORK)
TrainingSpec = pydantic_model(declared.TRAINING)
LayerSpec = pydantic_model(declared.LAYER)
EarlyStopping = pydantic_model(declared.EARLY_STOPPING)
SGD, Momentum, RMSprop, Adam = (
    pydantic_model(variant, tag=("name", name))
    for name, variant in declared.OPTIMIZER.variants.items()
)
