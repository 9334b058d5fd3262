"""The python tool: code runs in a stateful, sandboxed Jupyter kernel, one per run.

```python
from harmony_agent.tools.python import PythonTool
from harmony_agent.sandbox import SandboxConfig

python = PythonTool(SandboxConfig(cell_timeout_s=30, memory_mb=1024))
```
"""

from harmony_agent.tools.python._description import describe
from harmony_agent.tools.python._tool import PythonTool

__all__ = ["PythonTool", "describe"]
