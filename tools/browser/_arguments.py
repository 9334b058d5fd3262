"""The arguments of `browser.search`, `browser.open` and `browser.find`, as the model sends them.

The schemas are harmony's (the model was trained on them); these models validate and
coerce what arrives, repairing what is unambiguous (`top_n`, a link id sent as a string).
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

import pydantic
from harmony_agent.tools import _feedback
from harmony_agent.tools._arguments import InvalidArguments, parse_object, pydantic_problems
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

__all__ = ["FindArguments", "OpenArguments", "SearchArguments", "parse_arguments"]


Arguments = TypeVar("Arguments", bound=BaseModel)


class SearchArguments(BaseModel):
    """`search(query, topn?, source?)`."""

    model_config = ConfigDict(extra="forbid")
    usage: ClassVar[str] = '{"query": string, "topn"?: number, "source"?: string}'

    query: str = Field(min_length=1)
    topn: int = Field(default=10, ge=1, validation_alias=AliasChoices("topn", "top_n"))
    source: str | None = None


class OpenArguments(BaseModel):
    """`open(id?, cursor?, loc?, num_lines?, view_source?, source?)`."""

    model_config = ConfigDict(extra="forbid")
    usage: ClassVar[str] = (
        '{"id"?: number | string, "cursor"?: number, "loc"?: number, "num_lines"?: number, '
        '"view_source"?: boolean, "source"?: string}'
    )

    id: int | str = -1
    cursor: int = -1
    loc: int = -1
    num_lines: int = -1
    view_source: bool = False
    source: str | None = None

    @field_validator("id")
    @classmethod
    def _link_id_as_string(cls, value: int | str) -> int | str:
        """A string of digits is a link id, not a URL."""
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        return value


class FindArguments(BaseModel):
    """`find(pattern, cursor?)`."""

    model_config = ConfigDict(extra="forbid")
    usage: ClassVar[str] = '{"pattern": string, "cursor"?: number}'

    pattern: str = Field(min_length=1)
    cursor: int = -1


def parse_arguments(model: type[Arguments], arguments: str, name: str) -> Arguments:
    """Parses the call's JSON body into `model`; raises `InvalidArguments` with the fix."""
    try:
        return model.model_validate(parse_object(arguments))
    except pydantic.ValidationError as error:
        fix = f"It takes {getattr(model, 'usage', '')}."
        raise InvalidArguments(
            _feedback.invalid_arguments(name, pydantic_problems(error), fix)
        ) from None
