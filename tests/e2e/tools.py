"""The tools the end-to-end agents use."""

from __future__ import annotations

from harmony_agent.tools import BuiltinTool
from harmony_agent.tools.python import PythonTool


def python_tool() -> BuiltinTool:
    """The python tool of the end-to-end runs: the real sandboxed kernel, default settings."""
    return PythonTool()
