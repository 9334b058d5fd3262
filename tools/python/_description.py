"""The `python` namespace's description: the text gpt-oss was trained on, with the truth.

Deterministic for a given config and isolation mode (no paths of the host, no times): the
model reads it in every prompt.
"""

from __future__ import annotations

from harmony_agent.sandbox import WORKDIR, IsolationReport, SandboxConfig

__all__ = ["describe"]

_INTRO = (
    "Use this tool to execute Python code in your chain of thought. The code will not be shown "
    "to the user. This tool should be used for internal reasoning, but not for code that is "
    "intended to be visible to the user (e.g. when creating plots, tables, or files).\n\n"
    "When you send a message containing Python code to python, it will be executed in a "
    "stateful Jupyter notebook environment."
)


def describe(config: SandboxConfig, report: IsolationReport) -> str:
    """The description for kernels with `config`, isolated as `report` says."""
    drive = (
        f"The drive at '{WORKDIR}' can be used to save and persist user files."
        if report.bubblewrap
        else "The current working directory can be used to save and persist user files."
    )
    internet = "enabled" if report.network_access(config) else "disabled"
    text = (
        f"{_INTRO} python will respond with the output of the execution or time out after "
        f"{float(config.cell_timeout_s)} seconds. {drive} "
        f"Internet access for this session is {internet}."
    )
    if not report.complete:
        text += " The sandbox is only partly isolated on this host."
    return text
