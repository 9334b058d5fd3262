"""The request bodies the server takes, as pydantic models: every field a client sends is
checked for its type and bounds; fields the server does not use are ignored, as OpenAI's
clients send many (`metadata`, `parallel_tool_calls`, `include`...).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from harmony_agent.server._errors import bad_request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "ChatFunction",
    "ChatMessage",
    "ChatRequest",
    "ChatTool",
    "ContentPart",
    "FunctionToolParam",
    "InputItem",
    "ResponsesRequest",
    "TextFormat",
    "content_text",
    "parse_request",
]

_Model = TypeVar("_Model", bound=BaseModel)
_MAX_ITEMS = 4096
_MAX_TOOLS = 256
Text = Annotated[str, Field(max_length=4_000_000)]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


class ContentPart(_Body):
    """A part of a message's content: text in one of its spellings (`input_text`,
    `output_text`, `text`, `reasoning_text`, `summary_text`).
    """

    type: Literal["input_text", "output_text", "text", "reasoning_text", "summary_text"]
    text: Text


Content = Text | Annotated[list[ContentPart], Field(max_length=_MAX_ITEMS)]


class FunctionToolParam(_Body):
    """A function the client runs (Responses' flat shape)."""

    type: Literal["function"]
    name: Name
    description: Text | None = None
    parameters: dict[str, Any] | None = None


class TextFormat(_Body):
    """`text.format` of the Responses API, or `response_format` of Chat Completions."""

    type: Literal["text", "json_schema", "json_object"]
    name: Name | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    json_schema: dict[str, Any] | None = None


class _TextParam(_Body):
    format: TextFormat | None = None


class _Reasoning(_Body):
    effort: Literal["minimal", "low", "medium", "high"] | None = None


class _NamedFunction(_Body):
    type: Literal["function"]
    name: Name


class InputItem(_Body):
    """One item of a Responses `input` list: a message (`type` may be left out), a
    `function_call` the model made, its `function_call_output`, or a `reasoning` item; the
    built-in tools' items (`code_interpreter_call`, `web_search_call`, `mcp_call`) a client
    sends back are taken and skipped, the server holds their tokens.
    """

    type: Literal[
        "message",
        "function_call",
        "function_call_output",
        "reasoning",
        "code_interpreter_call",
        "web_search_call",
        "mcp_call",
    ] = "message"
    id: Annotated[str, Field(max_length=256)] | None = None
    role: Literal["user", "assistant", "system", "developer"] | None = None
    content: Content | None = None
    call_id: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    name: Name | None = None
    arguments: Text | None = None
    output: Content | None = None
    summary: Annotated[list[ContentPart], Field(max_length=_MAX_ITEMS)] | None = None


class ResponsesRequest(_Body):
    """POST /v1/responses."""

    model: Annotated[str, Field(min_length=1, max_length=256)]
    input: Text | Annotated[list[InputItem], Field(max_length=_MAX_ITEMS)]
    instructions: Text | None = None
    tools: Annotated[list[FunctionToolParam], Field(max_length=_MAX_TOOLS)] | None = None
    tool_choice: Literal["auto", "none", "required"] | _NamedFunction | None = None
    reasoning: _Reasoning | None = None
    text: _TextParam | None = None
    max_output_tokens: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(gt=0, le=1)] | None = None
    previous_response_id: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    store: bool = True
    stream: bool = False


class ChatFunction(_Body):
    """A function of a Chat Completions tool."""

    name: Name
    description: Text | None = None
    parameters: dict[str, Any] | None = None


class ChatTool(_Body):
    """A Chat Completions tool: a function the client runs."""

    type: Literal["function"]
    function: ChatFunction


class _CalledFunction(_Body):
    name: Name
    arguments: Text


class _ToolCallParam(_Body):
    id: Annotated[str, Field(min_length=1, max_length=256)]
    type: Literal["function"] = "function"
    function: _CalledFunction


class ChatMessage(_Body):
    """One message of a Chat Completions conversation; an assistant's `reasoning_content` (or
    `reasoning`) is its chain of thought, as vLLM returns it.
    """

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Content | None = None
    tool_calls: Annotated[list[_ToolCallParam], Field(max_length=_MAX_TOOLS)] | None = None
    tool_call_id: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    reasoning_content: Text | None = None
    reasoning: Text | None = None


class _ChoiceFunction(_Body):
    name: Name


class _ChatToolChoice(_Body):
    type: Literal["function"]
    function: _ChoiceFunction


class _StreamOptions(_Body):
    include_usage: bool = False


class ChatRequest(_Body):
    """POST /v1/chat/completions."""

    model: Annotated[str, Field(min_length=1, max_length=256)]
    messages: Annotated[list[ChatMessage], Field(min_length=1, max_length=_MAX_ITEMS)]
    tools: Annotated[list[ChatTool], Field(max_length=_MAX_TOOLS)] | None = None
    tool_choice: Literal["auto", "none", "required"] | _ChatToolChoice | None = None
    response_format: TextFormat | None = None
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None
    max_tokens: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(gt=0, le=1)] | None = None
    n: Literal[1] | None = None
    stream: bool = False
    stream_options: _StreamOptions | None = None


def content_text(content: str | list[ContentPart] | None) -> str:
    """A message's text: its string, or its parts' texts joined."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.text for part in content)


def parse_request(model: type[_Model], body: bytes) -> _Model:
    """Validates a JSON body; a 400 names the parameter at fault (`input[0].role`)."""
    try:
        return model.model_validate_json(body, by_alias=True)
    except ValidationError as error:
        # the deepest problem: a union's other members fail at the union itself
        problem = max(error.errors(include_url=False), key=lambda p: len(p["loc"]))
        param = _param(problem["loc"])
        what = problem["msg"]
        if problem["type"] == "json_invalid":
            raise bad_request(None, f"the body is not valid JSON: {what}") from None
        raise bad_request(param, f"{param or 'body'}: {what}") from None


def _param(loc: tuple[int | str, ...]) -> str | None:
    """`("input", 0, "content")` -> `input[0].content`; a union's member names are dropped."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif part[:1].isupper() or part[:1] == "_" or "[" in part or part in _UNION_TAGS:
            continue
        else:
            parts.append(f".{part}" if parts else part)
    return "".join(parts) or None


_UNION_TAGS = frozenset({"str", "list", "literal", "function-after", "constrained-str", "int"})
