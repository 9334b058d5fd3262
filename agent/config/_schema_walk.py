"""Finds the pydantic model and field that a key path of a config document leads to."""

from __future__ import annotations

import types
import typing
from typing import Any

import pydantic
from pydantic.fields import FieldInfo

__all__ = ["field_at", "model_at"]


def model_at(
    root: type[pydantic.BaseModel], path: tuple[str | int, ...], data: Any
) -> type[pydantic.BaseModel] | None:
    """The model whose keys are valid at `path` in `data` (None: not a model there)."""
    model: type[pydantic.BaseModel] | None = root
    annotation: Any = root
    current = data
    for part in path:
        if model is not None and isinstance(part, str):
            field = model.model_fields.get(part)
            if field is None:
                return None
            annotation = field.annotation
        elif isinstance(part, int):
            annotation = _item_type(annotation)
        else:
            return None
        current = (
            current.get(part)
            if isinstance(current, dict)
            else (
                current[part]
                if isinstance(current, list) and isinstance(part, int) and part < len(current)
                else None
            )
        )
        model = _pick_model(annotation, current)
    return model


def field_at(
    root: type[pydantic.BaseModel], path: tuple[str | int, ...], data: Any
) -> FieldInfo | None:
    """The field that `path` names (its last part must be a key), if any."""
    if not path or not isinstance(path[-1], str):
        return None
    parent = model_at(root, path[:-1], data)
    return None if parent is None else parent.model_fields.get(path[-1])


def _members(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _members(arg)]
    return [annotation]


def _item_type(annotation: Any) -> Any:
    for member in _members(annotation):
        if typing.get_origin(member) in (list, tuple):
            return typing.get_args(member)[0]
    return None


def _pick_model(annotation: Any, value: Any) -> type[pydantic.BaseModel] | None:
    models = [
        m for m in _members(annotation) if isinstance(m, type) and issubclass(m, pydantic.BaseModel)
    ]
    if len(models) <= 1:
        return models[0] if models else None
    kind = value.get("kind") if isinstance(value, dict) else None
    for candidate in models:
        field = candidate.model_fields.get("kind")
        if field is not None and kind in typing.get_args(field.annotation):
            return candidate
    return None
