"""What a request changes in the served agent: instructions, client functions, tool choice,
reasoning effort, structured output, token limit and sampling. The served `Agent` stays as
configured; each request runs a copy with its own settings.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import jsonschema
from harmony_agent import Agent, ConfigError
from harmony_agent._harmony import Reasoning
from harmony_agent.engines import supports_json
from harmony_agent.server._errors import bad_request
from harmony_agent.server._requests import TextFormat
from harmony_agent.tools import FunctionSpec

__all__ = ["RequestOptions", "function_spec", "output_schema", "request_agent"]

_EFFORTS: dict[str, Reasoning] = {
    "minimal": "low",
    "low": "low",
    "medium": "medium",
    "high": "high",
}


@dataclass(frozen=True)
class RequestOptions:
    """A request's settings, each None where the request leaves the config's.

    `params` names each setting's request parameter, for errors.
    """

    instructions: str | None = None
    functions: tuple[FunctionSpec, ...] = ()
    tool_choice: str | None = None
    effort: str | None = None
    output_schema: dict[str, Any] | None = None
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    params: tuple[tuple[str, str], ...] = ()

    def param(self, setting: str) -> str:
        """The request parameter that sets `setting`."""
        return dict(self.params).get(setting, setting)


def function_spec(
    name: str, description: str | None, parameters: dict[str, Any] | None
) -> FunctionSpec:
    """A client's function as the model sees it; parameters without properties are none."""
    if not parameters or not parameters.get("properties"):
        parameters = None
    return FunctionSpec(name, description or "", parameters)


def output_schema(text_format: TextFormat | None, param: str) -> dict[str, Any] | None:
    """The JSON Schema a `json_schema` or `json_object` format asks the answer to match."""
    if text_format is None or text_format.type == "text":
        return None
    if text_format.type == "json_object":
        return {"type": "object"}
    schema = text_format.schema_
    if schema is None and text_format.json_schema is not None:
        inner = text_format.json_schema.get("schema")
        schema = inner if isinstance(inner, dict) else None
    if schema is None:
        raise bad_request(f"{param}.schema", "a json_schema format needs its `schema` object")
    return schema


def request_agent(base: Agent, options: RequestOptions) -> Agent:
    """The served agent with the request's settings; a setting it rejects is a 400 naming
    the parameter.
    """
    changes: dict[str, Any] = {}
    if options.instructions:
        joined = "\n\n".join(t for t in (base.instructions, options.instructions) if t)
        changes["instructions"] = joined
    if options.functions:
        taken = {f.name for f in base.functions}
        for index, function in enumerate(options.functions):
            if function.name in taken:
                raise bad_request(
                    f"{options.param('functions')}[{index}].name",
                    f"{function.name!r} is a function the server runs; name yours otherwise",
                )
        changes["client_functions"] = options.functions
    if options.tool_choice is not None:
        changes["tool_choice"] = options.tool_choice
    if options.effort is not None:
        changes["reasoning"] = _EFFORTS[options.effort]
    if options.output_schema is not None:
        changes["output_type"] = options.output_schema
        changes["constrain_output"] = base.constrain_output or supports_json(base.engine)
    if options.max_output_tokens is not None:
        limit = options.max_output_tokens
        changes["max_run_tokens"] = min(limit, base.max_run_tokens or limit)
        changes["max_tokens"] = min(limit, base.max_tokens)
    if options.temperature is not None or options.top_p is not None:
        changes["sampling"] = dataclasses.replace(
            base.sampling,
            temperature=_first(options.temperature, base.sampling.temperature),
            top_p=_first(options.top_p, base.sampling.top_p),
        )
    for index, function in enumerate(options.functions):
        _check_schema(function, f"{options.param('functions')}[{index}].parameters")
    try:
        return dataclasses.replace(base, **changes)
    except ConfigError as error:
        setting = next((s for s in ("tool_choice", "output_type") if s in str(error)), None)
        param = options.param(setting) if setting else None
        raise bad_request(param, str(error)) from None


def _first(value: float | None, default: float) -> float:
    return default if value is None else value


def _check_schema(function: FunctionSpec, param: str) -> None:
    """A client function's parameters must be a JSON Schema of an object (or absent)."""
    if function.parameters is None:
        return
    try:
        jsonschema.Draft202012Validator.check_schema(function.parameters)
    except (jsonschema.SchemaError, RecursionError) as error:
        detail = getattr(error, "message", "too deeply nested")
        raise bad_request(param, f"not a valid JSON Schema: {detail}") from None
    if function.parameters.get("type", "object") != "object":
        raise bad_request(param, "a function's parameters must be a schema of type 'object'")
