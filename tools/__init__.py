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
from harmony_agent.tools.python import PythonTool, SandboxConfig

__all__ = [
    "BuiltinTool",
    "Citation",
    "FunctionSpec",
    "FunctionTool",
    "InvalidArguments",
    "PythonTool",
    "SandboxConfig",
    "ToolError",
    "ToolNamespace",
    "ToolOutput",
    "ToolSession",
    "tool",
]
