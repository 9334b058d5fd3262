"""What the model reads: the python namespace's description and rendered results."""

from __future__ import annotations

from pathlib import Path

import pytest
from harmony_agent.sandbox import ExecutionResult, IsolationReport, SandboxConfig
from harmony_agent.tools.python import describe
from harmony_agent.tools.python._render import render_result
from harmony_agent.tools.python._session import _unfence

FULL = IsolationReport(
    bubblewrap=True, unprivileged=True, cgroup_version=1, memory_capped=True, processes_capped=True
)
BARE = IsolationReport(
    bubblewrap=False,
    unprivileged=False,
    cgroup_version=None,
    memory_capped=False,
    processes_capped=False,
    problems=("bubblewrap not installed",),
)


def test_description_is_the_trained_text_with_the_truth() -> None:
    text = describe(SandboxConfig(cell_timeout_s=30), FULL)
    assert text.endswith(
        "python will respond with the output of the execution or time out after 30.0 seconds. "
        "The drive at '/mnt/data' can be used to save and persist user files. "
        "Internet access for this session is disabled."
    )
    assert text.startswith("Use this tool to execute Python code in your chain of thought.")
    assert text == describe(SandboxConfig(cell_timeout_s=30), FULL)


def test_description_admits_degraded_isolation() -> None:
    text = describe(SandboxConfig(), BARE)
    assert "The current working directory can be used" in text
    assert "Internet access for this session is enabled." in text  # nothing can remove it
    assert text.endswith("The sandbox is only partly isolated on this host.")
    assert "Internet access for this session is enabled." in describe(
        SandboxConfig(network=True), FULL
    )


@pytest.mark.parametrize(
    ("result", "text"),
    [
        (ExecutionResult(), "[no output]"),
        (ExecutionResult(stdout="a\n", stderr="b\n", result="3"), "a\nb\n3"),
        (ExecutionResult(result="3", error="NameError: x"), "NameError: x"),
        (
            ExecutionResult(images=(Path("/host/dir/image-1.png"),)),
            "[image saved: /mnt/data/image-1.png]",
        ),
        (
            ExecutionResult(timed_out=True, error="KeyboardInterrupt"),
            "KeyboardInterrupt\n[The execution ran past the 5 s timeout and was interrupted; "
            "variables and imports from before are kept.]",
        ),
        (
            ExecutionResult(timed_out=True, restarted=True),
            "[The execution ran past the 5 s timeout and did not stop when interrupted; the "
            "kernel was restarted: every variable and import is lost; files in the working "
            "directory are kept.]",
        ),
        (
            ExecutionResult(restarted=True, died="killed by signal SIGKILL"),
            "[The kernel died (killed by signal SIGKILL) and was restarted: every variable and "
            "import is lost; files in the working directory are kept.]",
        ),
    ],
)
def test_render_result(result: ExecutionResult, text: str) -> None:
    assert render_result(result, 5.0, "/mnt/data") == text


def test_unfence() -> None:
    assert _unfence("```python\nprint(1)\n```") == "print(1)\n"
    assert _unfence("```\nx = 1\n```") == "x = 1\n"
    assert _unfence("print('```')") == "print('```')"
