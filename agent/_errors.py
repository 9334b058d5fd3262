"""The exceptions harmony-agent raises: what a developer or the infrastructure must fix.

What the MODEL can fix never raises: it goes back to the model as a tool message and is
recorded on the run result. Everything else raises from this tree::

    HarmonyAgentError
    ├── ConfigError            bad settings, bad tool definitions, bad config files
    ├── EngineError            the engine failed to generate
    │   ├── EngineUnavailable  cannot reach or start the engine (server down, vllm missing)
    │   │   └── ModelNotFound  the model's path or hub id does not exist
    │   ├── EngineOutOfMemory  the model or its KV cache does not fit in memory
    │   ├── InvalidEngineOutput  the engine sent what no generation is (a token id outside
    │   │                        the vocabulary, a malformed or oversized event)
    │   └── ScriptExhausted    a ScriptedEngine was asked for more than its script holds
    ├── ToolUnavailable        a built-in tool could not start for a run (its sandbox, its
    │                          search index); the tool's own error is chained as the cause
    ├── MCPServerUnavailable   (harmony_agent.tools.mcp) an MCP server could not be started,
    │                          reached, initialized or listed (the CLI exits as for a tool)
    ├── OutputValidationError  the final answer never matched the agent's output_type
    └── SandboxError           (harmony_agent.sandbox) the sandbox's host side failed
        ├── IsolationUnavailable  `require_isolation` is set and a layer does not work here
        ├── KernelStartError   a kernel did not start (or did not answer) in time
        ├── SandboxClosed      a sandbox or kernel pool was used after it was closed
        └── CopyError          copying a sandbox's files failed on the host
            └── CopyLimitExceeded  the files to copy are past a bound (count, depth, size)

A run raises the sandbox's errors as the cause of a `ToolUnavailable`; code that uses the
sandbox itself gets them directly. `HarmonyAgentError` and `ConfigError` are defined in
`harmony_agent.sandbox._errors` (the bottom layer: the sandbox raises them and imports nothing
from tools or the agent). `ToolError` (in `harmony_agent.tools`) is not part of this tree:
tool code raises it to send a message to the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harmony_agent.sandbox._errors import ConfigError, HarmonyAgentError

if TYPE_CHECKING:
    from harmony_agent._result import RunResult

__all__ = [
    "ConfigError",
    "EngineError",
    "EngineOutOfMemory",
    "EngineUnavailable",
    "HarmonyAgentError",
    "InvalidEngineOutput",
    "ModelNotFound",
    "OutputValidationError",
    "ScriptExhausted",
    "ToolUnavailable",
]


class EngineError(HarmonyAgentError):
    """The engine failed to generate (the request, the server or the process)."""


class EngineUnavailable(EngineError):
    """The engine cannot be reached or started."""


class ModelNotFound(EngineUnavailable):
    """The model to load does not exist: no such directory, or no such hub repository."""


class EngineOutOfMemory(EngineError):
    """The model's weights or its KV cache do not fit in the memory the engine may use."""


class InvalidEngineOutput(EngineError):
    """The engine sent what no generation is: a token id outside the vocabulary, an event
    that is not a completion, a line or an event beyond its bound.
    """


class ScriptExhausted(EngineError):
    """A `ScriptedEngine` received a generate call beyond the end of its script."""


class ToolUnavailable(HarmonyAgentError):
    """A built-in tool could not start for a run: `tool` is its name, and the error it
    raised (e.g. the sandbox's `KernelStartError`) is chained as `__cause__`.
    """

    def __init__(self, tool: str, error: BaseException) -> None:
        super().__init__(f"the {tool} tool could not start: {str(error) or type(error).__name__}")
        self.tool = tool


class OutputValidationError(HarmonyAgentError):
    """The final answer did not match the output type, even after the allowed retries.

    `raw_text` is the last answer as written, `reason` what was wrong with it, and `result`
    the whole run (its `output` is None).
    """

    def __init__(self, raw_text: str, reason: str, result: RunResult) -> None:
        super().__init__(f"the final answer does not match the output type: {reason}")
        self.raw_text = raw_text
        self.reason = reason
        self.result = result
