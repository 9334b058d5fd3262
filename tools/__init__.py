"""What a tool is built from: built-in tools and their sessions, their outputs and namespaces,
function specs, and the error for arguments the model got wrong. Developer functions (`tool`,
`FunctionTool`) and `ToolError` are exported by `harmony_agent`; the built-in tools by
`harmony_agent.tools.browser` and `harmony_agent.tools.python`.
"""

from harmony_agent.tools._arguments import InvalidArguments
from harmony_agent.tools._base import (
    BuiltinTool,
    FunctionSource,
    FunctionSpec,
    ToolNamespace,
    ToolOutput,
    ToolSession,
)

__all__ = [
    "BuiltinTool",
    "FunctionSource",
    "FunctionSpec",
    "InvalidArguments",
    "ToolNamespace",
    "ToolOutput",
    "ToolSession",
]
