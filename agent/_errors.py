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
    └── OutputValidationError  the final answer never matched the agent's output_type

`HarmonyAgentError` and `ConfigError` are defined in `harmony_agent.tools._errors` (tools raise
`ConfigError` and never import the agent). `ToolError` (in `harmony_agent.tools`) is not part
of this tree: tool code raises it to send a message to the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harmony_agent.tools._errors import ConfigError, HarmonyAgentError

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
