"""The python tool: code runs in a stateful, sandboxed Jupyter kernel, one per run.

```python
from harmony_agent.tools.python import PythonTool
from harmony_agent.sandbox import SandboxConfig

python = PythonTool(SandboxConfig(cell_timeout_s=30, memory_mb=1024))
```
"""

from harmony_agent.sandbox import KernelPool, SandboxConfig
from harmony_agent.tools.python._description import describe
from harmony_agent.tools.python._render import render_result
from harmony_agent.tools.python._session import PythonSession
from harmony_agent.tools.python._tool import PythonTool

__all__ = [
    "KernelPool",
    "PythonSession",
    "PythonTool",
    "SandboxConfig",
    "describe",
    "render_result",
]
