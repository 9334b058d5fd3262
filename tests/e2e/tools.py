"""The tools the end-to-end agents use."""

from __future__ import annotations

from harmony_agent.tiny import ProductPython
from harmony_agent.tools import BuiltinTool, ToolNamespace


def python_tool() -> BuiltinTool:
    """The python tool of the end-to-end runs."""
    return ProductPython(
        ToolNamespace(
            "python",
            description="Use this tool to execute Python code. The code runs in a stateful Jupyter notebook environment with a timeout of 30 seconds. Files persist in /workspace. Internet access is off.",
        )
    )
