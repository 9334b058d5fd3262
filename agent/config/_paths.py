"""Relative paths in a config are relative to the config file, wherever it is run from."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import pydantic

__all__ = ["resolve_paths"]

M = TypeVar("M", bound=pydantic.BaseModel)


def resolve_paths(model: M, base_dir: Path) -> M:
    """A copy of `model` with every relative `Path` in it (nested models included) made
    absolute against `base_dir`.
    """
    updates = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        resolved = _resolve(value, base_dir)
        if resolved is not value:
            updates[name] = resolved
    return model.model_copy(update=updates) if updates else model


def _resolve(value: Any, base_dir: Path) -> Any:
    if isinstance(value, Path):
        return value if value.is_absolute() else base_dir / value.expanduser()
    if isinstance(value, pydantic.BaseModel):
        return resolve_paths(value, base_dir)
    if isinstance(value, list | tuple):
        items = [_resolve(item, base_dir) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return type(value)(items)
    return value
