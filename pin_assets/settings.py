"""Settings checked at the door: every value a user can set, refused before any work with a one-line reason.

Each resource and run-config field declares its real range (pydantic ``Field(ge=..., le=...)``, a
``Literal`` of choices, a validator for structured strings). This module turns those declarations into the
messages a user reads, the same wherever a value comes from:

* ``pin ... --set NAME=VALUE`` (:func:`parse_assignments`), before the CLI opens the instance;
* the launchpad and sensor-launched runs (:func:`run_config_problems`), checked by the first step of
  ``pin_job`` before it touches the store, so a bad value costs a failed step, not a batch;
* environment variables read when the definitions load (:func:`env_value`).

Messages name the setting, the value given and what is allowed, e.g.
``max_pages=-5: must be an integer from 1 to 1,000,000``.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, Literal

import annotated_types as at
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

ALLOWED_KEY = "allowed"  # json_schema_extra key: how to describe a value a validator (not a bound) checks


class SettingError(ValueError):
    """One or more settings are outside their allowed values; the message has one line per setting."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def _number(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def describe_allowed(field: FieldInfo) -> str:
    """What a field accepts, in words: "an integer from 1 to 1,000", "one of webp, jpeg, png"..."""
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    if ALLOWED_KEY in extra:
        return str(extra[ALLOWED_KEY])
    annotation = field.annotation
    if typing.get_origin(annotation) is Literal:
        return "one of " + ", ".join(str(choice) for choice in typing.get_args(annotation))
    if annotation is bool:
        return "true or false"
    kind = {int: "an integer", float: "a number"}.get(annotation, "a string")  # type: ignore[arg-type]
    low = high = None
    for item in field.metadata:
        if isinstance(item, at.Ge):
            low = f"from {_number(item.ge)}"
        elif isinstance(item, at.Gt):
            low = f"above {_number(item.gt)}"
        elif isinstance(item, at.Le):
            high = f"to {_number(item.le)}" if low and low.startswith("from") else f"at most {_number(item.le)}"
        elif isinstance(item, at.Lt):
            high = f"below {_number(item.lt)}"
    if low and high:
        joiner = " " if low.startswith("from") and high.startswith("to") else " and "
        return f"{kind} {low}{joiner}{high}"
    if low:
        return f"{kind} {'of at least ' + low.removeprefix('from ') if low.startswith('from') else low}"
    if high:
        return f"{kind} {high}"
    return kind


def _adapter(field: FieldInfo) -> TypeAdapter:
    if not field.metadata:
        return TypeAdapter(field.annotation)
    return TypeAdapter(Annotated[(field.annotation, *field.metadata)])  # type: ignore[valid-type]


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_value(model: type[BaseModel], name: str, value: Any, *, from_string: bool = False) -> Any:
    """``value`` validated against ``model.name``'s type and range (parsed first when ``from_string``)."""
    field = model.model_fields[name]
    adapter = _adapter(field)
    try:
        checked = adapter.validate_strings(value) if from_string else adapter.validate_python(value)
    except ValidationError as exc:
        detail = exc.errors()[0].get("msg", "")
        hint = f" ({detail.removeprefix('Value error, ')})" if detail.startswith("Value error") else ""
        raise SettingError([f"{name}={_shown(value)}: must be {describe_allowed(field)}{hint}"]) from exc
    if isinstance(checked, float) and not math.isfinite(checked):
        raise SettingError([f"{name}={_shown(value)}: must be {describe_allowed(field)}"])
    return checked


def check_values(model: type[BaseModel], values: Mapping[str, Any]) -> dict[str, Any]:
    """Every ``name: value`` checked against ``model``; all problems reported at once."""
    checked: dict[str, Any] = {}
    problems: list[str] = []
    for name, value in values.items():
        if name not in model.model_fields:
            problems.append(f"{name}: not a setting (settings: {', '.join(sorted(model.model_fields))})")
            continue
        try:
            checked[name] = check_value(model, name, value)
        except SettingError as exc:
            problems += exc.problems
    if problems:
        raise SettingError(problems)
    return checked


def parse_assignments(model: type[BaseModel], pairs: Iterable[str]) -> dict[str, Any]:
    """``NAME=VALUE`` strings (the CLI's ``--set``) parsed and checked against ``model``'s fields."""
    fields = model.model_fields
    settings: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or name not in fields:
            raise SettingError([f"{pair!r}: use NAME=VALUE with NAME one of {', '.join(sorted(fields))}"])
        settings[name] = check_value(model, name, value.strip(), from_string=True)
    return settings


def env_value(model: type[BaseModel], name: str, variable: str, environ: Mapping[str, str]) -> Any | None:
    """The environment variable ``variable`` parsed as ``model.name``; None when it is unset or empty."""
    raw = environ.get(variable, "")
    if raw == "":
        return None
    try:
        return check_value(model, name, raw, from_string=True)
    except SettingError as exc:
        raise SettingError([f"{variable}: {problem}" for problem in exc.problems]) from None


def config_class(node_def: Any) -> type[BaseModel] | None:
    """The pythonic ``Config`` class an op (an asset's op) takes as its ``config`` argument, if any."""
    fn: Callable | None = getattr(getattr(node_def, "compute_fn", None), "decorated_fn", None)
    if fn is None:
        return None
    try:
        hints = typing.get_type_hints(fn)
    except (NameError, TypeError):
        return None
    config = hints.get("config")
    return config if isinstance(config, type) and issubclass(config, BaseModel) else None


def run_config_problems(job_def: Any, resources: Mapping[str, Any], run_config: Mapping[str, Any]) -> list[str]:
    """Every out-of-range value in a run's config: resource fields, then each op's config.

    ``resources`` are the definitions' resource objects (their classes declare the fields). Values the
    config schema already refused (unknown keys, wrong types) never get here; this checks the ranges that
    Dagster's schema cannot express.
    """
    problems: list[str] = []
    for key, section in (run_config.get("resources") or {}).items():
        resource = resources.get(key)
        values = (section or {}).get("config") or {}
        if isinstance(resource, BaseModel) and isinstance(values, Mapping):
            problems += _problems(type(resource), values, f"resources.{key}")
    for op_name, section in (run_config.get("ops") or {}).items():
        values = (section or {}).get("config") or {}
        if not job_def.graph.has_node_named(op_name) or not isinstance(values, Mapping):
            continue
        model = config_class(job_def.graph.node_named(op_name).definition)
        if model is not None:
            problems += _problems(model, values, f"ops.{op_name}")
    return problems


def _problems(model: type[BaseModel], values: Mapping[str, Any], where: str) -> list[str]:
    known = {name: value for name, value in values.items() if name in model.model_fields
             and not (isinstance(value, Mapping) and set(value) == {"env"})}  # EnvVar: resolved at run time
    try:
        check_values(model, known)
    except SettingError as exc:
        return [f"{where}.{problem}" for problem in exc.problems]
    return []
