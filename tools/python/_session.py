"""One run's Python: a live sandboxed kernel whose state lasts the whole run."""

from __future__ import annotations

from typing import Any

from harmony_agent.sandbox import Sandbox
from harmony_agent.tools._base import ToolError, ToolOutput, ToolSession
from harmony_agent.tools.python._render import render_result

__all__ = ["PythonSession"]


class PythonSession(ToolSession):
    """Runs the model's code in one kernel; `aclose` kills it and deletes its files."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    async def call(self, function: str | None, arguments: str) -> ToolOutput:
        """Runs `arguments` (the code). `python` has no functions: a name after it is an error."""
        if function:
            raise ToolError(
                f"`python.{function}` does not exist: send the code to `python` itself."
            )
        code = _unfence(arguments)
        if not code.strip():
            raise ToolError("The message was empty: send Python code to run.")
        timeout = self.sandbox.config.cell_timeout_s
        result = await self.sandbox.execute(code)
        text = render_result(result, timeout, self.sandbox.code_workdir)
        data: dict[str, Any] = {
            "timed_out": result.timed_out,
            "restarted": result.restarted,
            "died": result.died,
            "error": result.error is not None,
            "duration_s": result.duration_s,
        }
        return ToolOutput(text=text, files=result.images, data=data)

    async def aclose(self) -> None:
        """Kills the kernel and deletes its working directory."""
        await self.sandbox.aclose()


def _unfence(code: str) -> str:
    """Drops a Markdown code fence around the whole message, which models sometimes add."""
    stripped = code.strip()
    if stripped.startswith("```") and stripped.endswith("```") and "\n" in stripped:
        body = stripped[3:-3]
        first, _, rest = body.partition("\n")
        return rest if first.strip() in ("", "python", "py") else body
    return code
