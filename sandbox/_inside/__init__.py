"""Code that runs inside the sandbox, each module as `python -c <its source>`.

- `bootstrap`: the first code of a started kernel (limits, connection file, then ipykernel);
- `template`: the kernel template process, which forks kernels.

It imports nothing from harmony_agent (the sandbox cannot see the project's source), so the
paths, uid and limit names it shares with the host are written here again;
tests/unit/sandbox/test_inside.py checks that both sides agree.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["inside_source"]


def inside_source(module: str) -> str:
    """The source of the module `module` of this folder, to run as `python -c`."""
    return (Path(__file__).parent / f"{module}.py").read_text(encoding="utf-8")
