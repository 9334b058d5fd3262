"""Tools the model can call: developer functions and the built-in browser and python."""

from harmony_agent.tools._base import (
    BuiltinTool,
    FunctionSpec,
    ToolError,
    ToolNamespace,
    ToolOutput,
    ToolSession,
)

__all__ = [
    "BuiltinTool",
    "FunctionSpec",
    "ToolError",
    "ToolNamespace",
    "ToolOutput",
    "ToolSession",
]
