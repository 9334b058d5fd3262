"""Reading a call's arguments: one JSON object, validated, with problems said the same way
whichever validator found them (JSON Schema or pydantic).
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pydantic
from harmony_agent.tools import _feedback
from harmony_agent.tools._base import ToolError

__all__ = ["InvalidArguments", "parse_object", "pydantic_problems", "schema_problems"]


class InvalidArguments(ToolError):
    """The model's arguments were not valid JSON or did not match the tool's schema."""


def parse_object(arguments: str) -> dict[str, Any]:
    """Reads a JSON object, tolerating code fences around it; empty text means `{}`. Raises
    `InvalidArguments` saying what to send instead.
    """
    text = arguments.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    if not text:
        return {}
    try:
        value, end = json.JSONDecoder(parse_constant=_reject_constant).raw_decode(text)
    except json.JSONDecodeError as error:
        raise InvalidArguments(_feedback.not_json(error.msg, error.lineno, error.colno)) from None
    except RecursionError:
        raise InvalidArguments(_feedback.json_too_deep()) from None
    except ValueError as error:  # e.g. an integer with more digits than Python converts
        raise InvalidArguments(_feedback.json_unusable(error)) from None
    if text[end:].strip():
        raise InvalidArguments(_feedback.text_after_json())
    if not isinstance(value, dict):
        raise InvalidArguments(_feedback.not_an_object(type(value).__name__))
    return value


def _reject_constant(name: str) -> object:
    """`NaN`, `Infinity` and `-Infinity` are not JSON; Python's decoder would accept them."""
    raise InvalidArguments(_feedback.json_not_a_number(name))


def schema_problems(errors: list[jsonschema.ValidationError]) -> list[tuple[str, str]]:
    """JSON Schema errors as (where, what) pairs, in the order of their paths."""
    ordered = sorted(errors, key=lambda error: [str(part) for part in error.absolute_path])
    return [("/".join(map(str, e.absolute_path)), e.message) for e in ordered]


def pydantic_problems(error: pydantic.ValidationError) -> list[tuple[str, str]]:
    """A pydantic error as (where, what) pairs."""
    return [
        ("/".join(map(str, item["loc"])), item["msg"]) for item in error.errors(include_url=False)
    ]
