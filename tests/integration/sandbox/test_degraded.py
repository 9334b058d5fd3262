"""A kernel where no isolation layer works (e.g. a container without namespaces): it still
runs, in its own directory with a replaced environment, and the python tool admits it.
"""

from __future__ import annotations

import os

import pytest
from harmony_agent.sandbox import IsolationReport, IsolationUnavailable, Kernel, Sandbox
from harmony_agent.sandbox import _sandbox as sandbox_module
from harmony_agent.sandbox.__main__ import main as doctor
from harmony_agent.tools.python import describe

from .kernels import FAST

BARE = IsolationReport(
    bubblewrap=False,
    unprivileged=os.geteuid() != 0,
    cgroup_version=None,
    memory_capped=False,
    processes_capped=False,
    problems=("simulated: no layer works",),
)


async def test_kernel_without_layers_runs_in_its_directory() -> None:
    os.environ["HARMONY_SANDBOX_TEST_SECRET"] = "hunter2"
    try:
        kernel = await Kernel.start(FAST, BARE)
    finally:
        os.environ.pop("HARMONY_SANDBOX_TEST_SECRET")
    try:
        result = await kernel.execute(
            "import os, resource\n"
            "(os.getcwd(), 'HARMONY_SANDBOX_TEST_SECRET' in os.environ, "
            "resource.getrlimit(resource.RLIMIT_FSIZE)[0])"
        )
        assert result.result == f"({str(kernel.workdir)!r}, False, {FAST.max_file_mb << 20})"
        timed_out = await kernel.execute("while True:\n    pass", timeout=1.0)
        assert timed_out.interrupted
    finally:
        await kernel.aclose()
    assert not kernel.root.exists()


def test_description_says_degraded() -> None:
    text = describe(FAST, BARE)
    assert "Internet access for this session is enabled." in text
    assert "only partly isolated" in text


async def test_required_isolation_refuses_a_degraded_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_module, "check_isolation", lambda config: BARE)
    with pytest.raises(IsolationUnavailable, match="simulated: no layer works"):
        async with Sandbox(FAST.model_copy(update={"require_isolation": True})):
            pass


def test_doctor_prints_the_active_layers(capsys: pytest.CaptureFixture[str]) -> None:
    status = doctor()
    out = capsys.readouterr().out
    assert out.startswith(("full isolation: ", "DEGRADED isolation: "))
    assert status == (0 if out.startswith("full") else 1)
