"""Structured output: the schema the final answer must match, and its validation."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
import pydantic
from harmony_agent._errors import ConfigError
from harmony_agent._harmony import ResponseFormat

__all__ = ["InvalidOutput", "OutputFormat", "OutputType"]

OutputType = type[pydantic.BaseModel] | Mapping[str, Any]
"""A pydantic model, or a JSON Schema (its `title` names it, its `description` explains it)."""


class InvalidOutput(Exception):
    """The final answer does not match the output format; the message says why."""


@dataclass(frozen=True)
class OutputFormat:
    """What the final answer must be: JSON matching `response_format.schema`."""

    response_format: ResponseFormat
    model: type[pydantic.BaseModel] | None
    validator: jsonschema.Draft202012Validator

    @classmethod
    def of(cls, output_type: OutputType) -> OutputFormat:
        """The format for a pydantic model or a JSON Schema."""
        if isinstance(output_type, type) and issubclass(output_type, pydantic.BaseModel):
            model: type[pydantic.BaseModel] | None = output_type
            schema = output_type.model_json_schema()
            name = output_type.__name__
        elif isinstance(output_type, Mapping):
            model, schema = None, dict(output_type)
            name = str(schema.get("title", "response"))
        else:
            raise ConfigError(
                f"output_type must be a pydantic model or a JSON Schema, got {output_type!r}"
            )
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as error:
            raise ConfigError(f"output_type: invalid JSON Schema: {error.message}") from None
        description = schema.get("description")
        return cls(
            ResponseFormat(name, description if isinstance(description, str) else None, schema),
            model,
            jsonschema.Draft202012Validator(schema),
        )

    def parse(self, text: str) -> Any:
        """The answer as a Python value (a model instance, or plain JSON data).

        Raises `InvalidOutput` with a message the model can act on.
        """
        body = text.strip()
        if body.startswith("```"):
            body = body.strip("`").removeprefix("json").strip()
        try:
            value = json.loads(body)
        except json.JSONDecodeError as error:
            raise InvalidOutput(
                f"the answer is not valid JSON ({error.msg} at column {error.colno})"
            ) from None
        errors = sorted(self.validator.iter_errors(value), key=lambda e: list(e.path))
        if errors:
            shown = "; ".join(
                f"{'/'.join(map(str, e.absolute_path)) or 'answer'}: {e.message}"
                for e in errors[:3]
            )
            raise InvalidOutput(f"the answer does not match the schema: {shown}")
        if self.model is None:
            return value
        try:
            return self.model.model_validate(value)
        except pydantic.ValidationError as error:
            raise InvalidOutput(f"the answer does not match the schema: {error}") from None
