"""Developer functions the model can call in the `functions` namespace.

One pydantic model per function gives both the JSON Schema the model sees and the coercion of
its arguments; `jsonschema` validates the arguments against that schema before every call.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import json
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast, get_type_hints, overload

import jsonschema
import pydantic
import pydantic_core
from harmony_agent.tools._base import FunctionSpec, ToolError, ToolOutput
from harmony_agent.tools._docstring import parse_docstring
from harmony_agent.tools._errors import ConfigError

__all__ = ["FunctionTool", "InvalidArguments", "tool"]

Handler = Callable[..., Any]
_MAX_ERRORS_SHOWN = 3


class InvalidArguments(ToolError):
    """The model's arguments were not valid JSON or did not match the function's schema."""


class FunctionTool:
    """A function the model can call as `functions.NAME`.

    `parameters` is the JSON Schema of the arguments object (None: no arguments). `handler`
    is called with the validated arguments as keyword arguments; it may be sync (run in a
    thread of its own) or async. Its return value goes to the model: a str as is, anything
    else as JSON.
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
        return ToolOutput(render_result(result))

    def validate(self, arguments: str) -> dict[str, Any]:
        """Parses and validates the arguments text; returns the handler's keyword arguments."""
        parsed = _parse_json(arguments)
        if self._validator is not None:
            errors = sorted(self._validator.iter_errors(parsed), key=lambda e: list(e.path))
            if errors:
                raise InvalidArguments(self._explain(errors))
        elif parsed:
            raise InvalidArguments(f"{self.name} takes no arguments; call it with {{}}.")
        if self._arguments_model is None:
            return parsed
        try:
            model = self._arguments_model.model_validate(parsed)
        except pydantic.ValidationError as error:
            raise InvalidArguments(f"invalid arguments for {self.name}: {error}") from None
        return {field: getattr(model, field) for field in type(model).model_fields}

    def _explain(self, errors: list[jsonschema.ValidationError]) -> str:
        shown = [
            f"{'/'.join(map(str, e.absolute_path)) or 'arguments'}: {e.message}"
            for e in errors[:_MAX_ERRORS_SHOWN]
        ]
        more = len(errors) - len(shown)
        suffix = f" (and {more} more)" if more > 0 else ""
        return (
            f"invalid arguments for {self.name}: {'; '.join(shown)}{suffix}. "
            "Call it again with arguments that match its schema."
        )


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


def _parse_json(arguments: str) -> dict[str, Any]:
    """Reads a JSON object, tolerating code fences around it; empty text means `{}`."""
    text = arguments.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    if not text:
        return {}
    try:
        value, end = json.JSONDecoder(parse_constant=_reject_constant).raw_decode(text)
    except json.JSONDecodeError as error:
        raise InvalidArguments(
            f"the arguments are not valid JSON ({error.msg} at line {error.lineno} column "
            f"{error.colno}). Send a single JSON object."
        ) from None
    except RecursionError:
        raise InvalidArguments("the arguments are nested too deeply; send flatter JSON.") from None
    except ValueError as error:  # e.g. an integer with more digits than Python converts
        raise InvalidArguments(f"the arguments are not usable JSON ({error}).") from None
    if text[end:].strip():
        raise InvalidArguments(
            "the arguments have text after the JSON object; send only the object."
        )
    if not isinstance(value, dict):
        raise InvalidArguments(f"the arguments must be a JSON object, not {type(value).__name__}.")
    return value


def _reject_constant(name: str) -> object:
    """`NaN`, `Infinity` and `-Infinity` are not JSON; Python's decoder would accept them."""
    raise InvalidArguments(f"the arguments contain {name}, which is not JSON; send a number.")


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
