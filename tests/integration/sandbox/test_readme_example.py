"""The README's sandbox examples run as written, on real kernels and a real program runner
(tests/unit/test_readme.py runs the others).
"""

from __future__ import annotations

from harmony_agent import Agent
from harmony_agent.sandbox import KernelPool, ProgramResult
from harmony_agent.tools.python import PythonTool

from tests.readme import after_quickstart, python_blocks, run


def test_the_sandbox_example_runs() -> None:
    namespace = after_quickstart()
    run(python_blocks()["Python, sandboxed #1"], namespace)
    agent, pool = namespace["agent"], namespace["pool"]
    assert isinstance(agent, Agent) and isinstance(pool, KernelPool)
    assert pool.size == 8 and pool.fork
    (python,) = agent.tools
    assert isinstance(python, PythonTool)


def test_the_one_shot_example_runs() -> None:
    namespace: dict[str, object] = {}
    run(python_blocks()["One-shot programs #1"], namespace)
    result = namespace["result"]
    assert isinstance(result, ProgramResult) and result.ok
