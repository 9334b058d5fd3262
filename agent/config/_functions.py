"""Developer functions named in a config by import path: `package.module:callable`."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from harmony_agent._errors import ConfigError
from harmony_agent.tools._function import FunctionTool, tool
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["FunctionConfig", "import_object"]


class FunctionConfig(BaseModel):
    """One function the model may call.

    `handler` names a `@tool`-decorated function or a plain callable (its schema then comes
    from its signature and docstring). With `parameters`, the JSON Schema is given here and
    the callable receives the validated arguments as keyword arguments. A bare string in the
    `functions` list is taken as `handler`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    handler: str = Field(
        pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$",
        description="Import path `package.module:callable`; modules next to the config file "
        "are found too.",
    )
    name: str | None = Field(default=None, description="The name the model sees.")
    description: str | None = Field(default=None, description="What the function does.")
    parameters: dict[str, Any] | None = Field(
        default=None, description="JSON Schema of the arguments object (type: object)."
    )
    timeout: float | None = Field(default=None, gt=0, description="Seconds one call may take.")

    @model_validator(mode="before")
    @classmethod
    def _bare_path(cls, data: Any) -> Any:
        return {"handler": data} if isinstance(data, str) else data

    def build(self, base_dir: Path) -> FunctionTool:
        """Imports the handler and makes the function tool; raises `ConfigError`."""
        target = import_object(self.handler, base_dir)
        if isinstance(target, FunctionTool):
            given = [
                key
                for key in ("name", "description", "parameters", "timeout")
                if getattr(self, key) is not None
            ]
            if given:
                raise ConfigError(
                    f"{self.handler} is already a tool: remove {', '.join(given)} here and set "
                    "them in its @tool decorator"
                )
            return target
        if not callable(target):
            raise ConfigError(f"{self.handler} is not callable (type {type(target).__name__})")
        if self.parameters is None:
            make = tool(name=self.name, description=self.description, timeout=self.timeout)
            return make(target)
        name = self.name or str(getattr(target, "__name__", ""))
        return FunctionTool(
            name=name,
            description=self.description or (getattr(target, "__doc__", None) or "").strip(),
            parameters=self.parameters,
            handler=target,
            timeout=self.timeout,
        )


def import_object(path: str, base_dir: Path) -> Any:
    """Imports `package.module:attribute.path`, looking in `base_dir` first; raises
    `ConfigError` saying what is missing.
    """
    module_name, _, attributes = path.partition(":")
    sys.path.insert(0, str(base_dir))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise ConfigError(
            f"cannot import {module_name!r}: no module named {error.name!r} (check the "
            "spelling, install the package, or put the module next to the config file)"
        ) from None
    except Exception as error:
        raise ConfigError(
            f"importing {module_name!r} failed: {type(error).__name__}: {error}"
        ) from None
    finally:
        sys.path.remove(str(base_dir))
    target: Any = module
    for attribute in attributes.split("."):
        if not hasattr(target, attribute):
            raise ConfigError(f"module {module_name!r} has no attribute {attributes!r}")
        target = getattr(target, attribute)
    return target
