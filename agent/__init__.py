"""harmony-agent: the agentic tool-use runtime for OpenAI's open-weight gpt-oss models.

A vLLM engine generates harmony tokens; the agent loop reads the channels, runs the tools the
model calls and feeds their results back into the same token stream until a final answer.
"""

from harmony_agent._agent import Agent
from harmony_agent._errors import (
    ConfigError,
    EngineError,
    EngineOutOfMemory,
    EngineUnavailable,
    HarmonyAgentError,
    InvalidEngineOutput,
    ModelNotFound,
    OutputValidationError,
    ScriptExhausted,
    ToolUnavailable,
)
from harmony_agent._events import (
    ContextTrimmed,
    Event,
    GenerationFinished,
    MessageDone,
    Recovered,
    RunFinished,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
)
from harmony_agent._history import Entry, History
from harmony_agent._messages import Message, Recovery, RecoveryKind, Role
from harmony_agent._result import (
    CallOutput,
    RunResult,
    StopReason,
    ToolCall,
    ToolErrorKind,
    ToolResult,
    Usage,
)
from harmony_agent._stream import RunStream
from harmony_agent.tools._base import Citation, ToolError
from harmony_agent.tools._function import FunctionTool, tool

__all__ = [
    "Agent",
    "CallOutput",
    "Citation",
    "ConfigError",
    "ContextTrimmed",
    "EngineError",
    "EngineOutOfMemory",
    "EngineUnavailable",
    "Entry",
    "Event",
    "FunctionTool",
    "GenerationFinished",
    "HarmonyAgentError",
    "History",
    "InvalidEngineOutput",
    "Message",
    "MessageDone",
    "ModelNotFound",
    "OutputValidationError",
    "Recovered",
    "Recovery",
    "RecoveryKind",
    "Role",
    "RunFinished",
    "RunResult",
    "RunStream",
    "ScriptExhausted",
    "StopReason",
    "TextDelta",
    "ToolCall",
    "ToolCallFinished",
    "ToolCallStarted",
    "ToolError",
    "ToolErrorKind",
    "ToolResult",
    "ToolUnavailable",
    "Usage",
    "tool",
]
