"""The python tool: the `python` namespace gpt-oss was trained on, over the sandbox."""

from __future__ import annotations

from harmony_agent.sandbox import (
    IsolationReport,
    KernelPool,
    Sandbox,
    SandboxConfig,
    check_isolation,
)
from harmony_agent.sandbox._errors import ConfigError
from harmony_agent.tools._base import BuiltinTool, ToolNamespace
from harmony_agent.tools.python._description import describe
from harmony_agent.tools.python._session import PythonSession

__all__ = ["PythonTool"]


class PythonTool(BuiltinTool):
    """Stateful Python for the model: one sandboxed Jupyter kernel per run.

    Args:
        config: The sandbox's settings (timeout, limits, network); default `SandboxConfig()`.
        pool: Kernels started ahead of time (its config must equal `config`), e.g.
            `KernelPool(config, size=4, fork=True)`; without one, each run starts its kernel
            when the model first calls `python`. The caller starts and closes the pool.

    Creating the tool checks which isolation layers work on this host (once per process,
    a fraction of a second), because the description tells the model the truth about them.
    """

    def __init__(self, config: SandboxConfig | None = None, *, pool: KernelPool | None = None):
        if pool is not None and config is not None and pool.config != config:
            raise ConfigError("PythonTool: `config` differs from the pool's config")
        self.config = pool.config if pool is not None else config or SandboxConfig()
        self.pool = pool
        self.report: IsolationReport = check_isolation(self.config)

    @property
    def namespace(self) -> ToolNamespace:
        """`python`, with the trained description carrying the real timeout and network."""
        return ToolNamespace(name="python", description=describe(self.config, self.report))

    @property
    def timeout(self) -> float:
        """Room for a cell's whole time limit: its timeout, the interrupt's grace and a restart
        of the kernel, so the model hears which of them happened.
        """
        config = self.config
        return config.cell_timeout_s + config.interrupt_grace_s + config.start_timeout_s + 5.0

    async def open_session(self) -> PythonSession:
        """Starts the run's kernel (or takes one from the pool)."""
        sandbox = Sandbox(self.config, pool=self.pool)
        await sandbox.start()
        return PythonSession(sandbox)
