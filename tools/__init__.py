"""Tools the model can call: developer functions and the built-in browser and python."""

from harmony_agent.tools._arguments import InvalidArguments
from harmony_agent.tools._base import (
    BuiltinTool,
    Citation,
    FunctionSpec,
    ToolError,
    ToolNamespace,
    ToolOutput,
    ToolSession,
)
from harmony_agent.tools._function import FunctionTool, tool

__all__ = [
    "BuiltinTool",
    "Citation",
    "FunctionSpec",
    "FunctionTool",
    "InvalidArguments",
    "ToolError",
    "ToolNamespace",
    "ToolOutput",
    "ToolSession",
    "tool",
]
