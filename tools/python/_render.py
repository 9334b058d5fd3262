"""Turns an execution's result into the text the model reads."""

from __future__ import annotations

from harmony_agent.sandbox import ExecutionResult

__all__ = ["render_result"]


def render_result(result: ExecutionResult, timeout: float, workdir: str) -> str:
    """Output first (stdout, stderr, the error, the value), then what happened to the kernel.

    `workdir` is the working directory as the code sees it (image files are named in it).
    """
    parts: list[str] = []
    if result.died is not None and not result.timed_out:
        parts.append(
            f"[The kernel died ({result.died}) and was restarted: every variable and import is "
            "lost; files in the working directory are kept.]"
        )
    parts += [text.rstrip("\n") for text in (result.stdout, result.stderr) if text]
    if result.error is not None:
        parts.append(result.error)
    elif result.result is not None:
        parts.append(result.result)
    parts += [f"[image saved: {workdir}/{image.name}]" for image in result.images]
    if result.timed_out and result.restarted:
        parts.append(
            f"[The execution ran past the {timeout:g} s timeout and did not stop when "
            "interrupted; the kernel was restarted: every variable and import is lost; files "
            "in the working directory are kept.]"
        )
    elif result.timed_out:
        parts.append(
            f"[The execution ran past the {timeout:g} s timeout and was interrupted; variables "
            "and imports from before are kept.]"
        )
    return "\n".join(parts) if parts else "[no output]"
