"""Agent runs described in YAML: the models, `load_config`, and the errors they raise.

```python
from harmony_agent.config import load_config

config = load_config("configs/function-calling.yaml")
async with config.open() as agent:          # the engine starts here and closes at the end
    result = await agent.arun("What's the weather in Paris?")
```
"""

from harmony_agent.config._agent_config import (
    AgentConfig,
    LimitsConfig,
    OutputConfig,
    SamplingConfig,
    ToolsConfig,
)
from harmony_agent.config._default_engine import (
    GPT_OSS_20B,
    DefaultModel,
    default_engine,
    default_model,
)
from harmony_agent.config._engines import (
    DefaultEngineConfig,
    EngineConfig,
    HTTPEngineConfig,
    ScriptedEngineConfig,
    VLLMEngineConfig,
    build_engine,
)
from harmony_agent.config._error import ConfigFileError
from harmony_agent.config._functions import FunctionConfig
from harmony_agent.config._load import load_config

__all__ = [
    "GPT_OSS_20B",
    "AgentConfig",
    "ConfigFileError",
    "DefaultEngineConfig",
    "DefaultModel",
    "EngineConfig",
    "FunctionConfig",
    "HTTPEngineConfig",
    "LimitsConfig",
    "OutputConfig",
    "SamplingConfig",
    "ScriptedEngineConfig",
    "ToolsConfig",
    "VLLMEngineConfig",
    "build_engine",
    "default_engine",
    "default_model",
    "load_config",
]
