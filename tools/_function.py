"""Developer functions the model can call in the `functions` namespace.

One pydantic model per function gives both the JSON Schema the model sees and the coercion of
its arguments; `jsonschema` validates the arguments against that schema before every call.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast, get_type_hints, overload

import jsonschema
import pydantic
import pydantic_core
from harmony_agent.sandbox._errors import ConfigError
from harmony_agent.tools import _feedback
from harmony_agent.tools._arguments import (
    InvalidArguments,
    parse_object,
    pydantic_problems,
    schema_problems,
)
from harmony_agent.tools._base import FunctionSpec, ToolOutput
from harmony_agent.tools._docstring import parse_docstring

__all__ = ["FunctionTool", "tool"]

Handler = Callable[..., Any]


class FunctionTool:
    """A function the model can call as `functions.NAME`.

    `parameters` is the JSON Schema of the arguments object (None: no arguments). `handler`
    is called with the validated arguments as keyword arguments; it may be sync (run in a
    thread of its own) or async. Its return value goes to the model: a str as is, a
    `ToolOutput` as it is (with its files and data), anything else as JSON.
    """

    def __init__(
        self,
        *,
        name: str,
        description: str,
        parameters: Mapping[str, Any] | None,
        handler: Handler,
        timeout: float | None = None,
        arguments_model: type[pydantic.BaseModel] | None = None,
    ) -> None:
        if not name.isidentifier():
            raise ConfigError(f"function name {name!r} must be a Python-style identifier")
        if parameters is not None:
            try:
                jsonschema.Draft202012Validator.check_schema(parameters)
            except jsonschema.SchemaError as error:
                raise ConfigError(
                    f"function {name!r}: invalid JSON Schema: {error.message}"
                ) from None
            if parameters.get("type") != "object":
                raise ConfigError(
                    f"function {name!r}: parameters must be a schema of type 'object'"
                )
        self.name = name
        self.description = description
        self.parameters = parameters
        self.timeout = timeout
        self._handler = handler
        self._arguments_model = arguments_model
        self._validator = (
            None if parameters is None else jsonschema.Draft202012Validator(parameters)
        )

    @property
    def spec(self) -> FunctionSpec:
        """How the model sees this function."""
        return FunctionSpec(self.name, self.description, self.parameters)

    def __repr__(self) -> str:
        return f"FunctionTool(name={self.name!r})"

    async def call(self, arguments: str) -> ToolOutput:
        """Validates the model's arguments, calls the handler and renders its return value.

        Invalid arguments raise `InvalidArguments`; what the handler raises propagates.
        """
        values = self.validate(arguments)
        if inspect.iscoroutinefunction(self._handler):
            result = await cast(Callable[..., Awaitable[Any]], self._handler)(**values)
        else:
            result = await _in_own_thread(self._handler, values, f"tool-{self.name}")
        return result if isinstance(result, ToolOutput) else ToolOutput(render_result(result))

    def validate(self, arguments: str) -> dict[str, Any]:
        """Parses and validates the arguments text; returns the handler's keyword arguments."""
        parsed = parse_object(arguments)
        if self._validator is not None:
            problems = schema_problems(list(self._validator.iter_errors(parsed)))
            if problems:
                raise InvalidArguments(self._explain(problems))
        elif parsed:
            raise InvalidArguments(_feedback.takes_no_arguments(self.name))
        if self._arguments_model is None:
            return parsed
        try:
            model = self._arguments_model.model_validate(parsed)
        except pydantic.ValidationError as error:
            raise InvalidArguments(self._explain(pydantic_problems(error))) from None
        return {field: getattr(model, field) for field in type(model).model_fields}

    def _explain(self, problems: list[tuple[str, str]]) -> str:
        fix = "Call it again with arguments that match its schema."
        return _feedback.invalid_arguments(self.name, problems, fix)


async def _in_own_thread(handler: Handler, values: dict[str, Any], name: str) -> Any:
    """Runs a blocking handler in a thread of its own, not in the loop's default executor: a
    handler that hangs past its timeout then holds only its thread, while the executor stays
    free for what the loop needs it for (DNS resolution, other tools).
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    context = contextvars.copy_context()

    def settle(result: Any, error: Exception | None) -> None:
        if future.done():
            return  # the call timed out or was cancelled meanwhile
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def work() -> None:
        result, error = None, None
        try:
            result = context.run(handler, **values)
        except Exception as exc:
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop closed while the handler ran
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=work, name=name, daemon=True).start()
    return await future


def render_result(value: object) -> str:
    """Renders a handler's return value for the model: a str as is, anything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump_json()
    return pydantic_core.to_json(value, fallback=str).decode()


@overload
def tool(function: Handler, /) -> FunctionTool: ...
@overload
def tool(
    *, name: str | None = None, description: str | None = None, timeout: float | None = None
) -> Callable[[Handler], FunctionTool]: ...
def tool(
    function: Handler | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
) -> FunctionTool | Callable[[Handler], FunctionTool]:
    """Makes a function callable by the model, its schema read from its signature.

    Parameters may use str, int, float, bool, Literal, Enum, Optional, lists, dicts and pydantic
    models, with defaults. The description is the docstring's text before its sections; each
    parameter's description comes from the Google-style `Args:` section. Use as `@tool` or
    `@tool(name=..., description=..., timeout=...)`.
    """

    def build(handler: Handler) -> FunctionTool:
        model, doc = _arguments_model(handler)
        return FunctionTool(
            name=name or handler.__name__,
            description=description if description is not None else doc,
            parameters=model.model_json_schema() if model.model_fields else None,
            handler=handler,
            timeout=timeout,
            arguments_model=model,
        )

    return build if function is None else build(function)


def _arguments_model(handler: Handler) -> tuple[type[pydantic.BaseModel], str]:
    """Builds the pydantic model of a function's parameters and returns its description."""
    where = getattr(handler, "__qualname__", repr(handler))
    try:
        signature = inspect.signature(handler)
        hints = get_type_hints(handler, include_extras=True)
    except (TypeError, ValueError, NameError) as error:
        raise ConfigError(f"cannot read the signature of {where}: {error}") from None
    doc = parse_docstring(handler.__doc__)
    fields: dict[str, Any] = {}
    for parameter in signature.parameters.values():
        if parameter.kind in (
            parameter.VAR_POSITIONAL,
            parameter.VAR_KEYWORD,
            parameter.POSITIONAL_ONLY,
        ):
            raise ConfigError(
                f"{where}: parameter {parameter.name!r} must be a regular or keyword-only parameter"
            )
        if parameter.name not in hints:
            raise ConfigError(f"{where}: parameter {parameter.name!r} needs a type annotation")
        default = ... if parameter.default is parameter.empty else parameter.default
        info = pydantic.Field(default, description=doc.arguments.get(parameter.name))
        fields[parameter.name] = (hints[parameter.name], info)
    try:
        model = pydantic.create_model(f"{handler.__name__}_arguments", **fields)
        model.model_json_schema()
    except (pydantic.PydanticUserError, pydantic_core.SchemaError, TypeError) as error:
        raise ConfigError(f"{where}: unsupported parameter types: {error}") from None
    return model, doc.description
