"""Where model-written code runs, isolated. Knows nothing of tools or agents.

```python
from harmony_agent.sandbox import Sandbox, SandboxConfig

async with Sandbox(SandboxConfig(memory_mb=1024, cell_timeout_s=30)) as sandbox:
    result = await sandbox.execute("import math; math.pi")
    print(result.result)          # 3.141592653589793
```

Each sandbox is a stateful IPython kernel in its own working directory, behind every isolation
layer the host supports (bubblewrap namespaces, an unprivileged uid, a cgroup, rlimits);
`check_isolation` says which are active (`python -m harmony_agent.sandbox` prints it).

A `KernelPool` keeps kernels started ahead of time; `KernelPool(config, fork=True)` forks
them from a template process that set up ipykernel once (a tenth of the CPU per kernel; needs
bubblewrap, as root or as a user with user namespaces):

```python
async with KernelPool(config, size=4, fork=True) as pool:
    async with Sandbox(pool=pool) as sandbox: ...
```

For stateless code (checking model-written code against tests, rewards), a `ProgramRunner`
runs each program once in a fresh process forked from the same template, behind the same
layers, without Jupyter: code, stdin and files in; exit status, bounded output, timeout,
memory kill, duration, CPU and peak memory out:

```python
async with ProgramRunner(config) as runner:
    result = await runner.run("import sys; print(sys.stdin.read().upper())", stdin="hi")
    print(result.exit_code, result.stdout)   # 0 HI
```
"""

from harmony_agent.sandbox._config import WORKDIR, ReadOnlyMount, SandboxConfig
from harmony_agent.sandbox._errors import (
    IsolationUnavailable,
    KernelStartError,
    SandboxClosed,
    SandboxError,
)
from harmony_agent.sandbox._isolation import IsolationReport, check_isolation
from harmony_agent.sandbox._kernel import Kernel
from harmony_agent.sandbox._pool import KernelPool
from harmony_agent.sandbox._result import ExecutionResult, ProgramResult
from harmony_agent.sandbox._runner import ProgramRunner
from harmony_agent.sandbox._sandbox import Sandbox

__all__ = [
    "WORKDIR",
    "ExecutionResult",
    "IsolationReport",
    "IsolationUnavailable",
    "Kernel",
    "KernelPool",
    "KernelStartError",
    "ProgramResult",
    "ProgramRunner",
    "ReadOnlyMount",
    "Sandbox",
    "SandboxClosed",
    "SandboxConfig",
    "SandboxError",
    "check_isolation",
]
