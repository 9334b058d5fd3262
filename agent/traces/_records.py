"""Events as JSON records: what a trace file holds and what the CLI renders."""

from __future__ import annotations

import dataclasses
from typing import Any

import pydantic_core
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
from harmony_agent._result import RunResult, ToolResult, Usage

__all__ = ["Record", "event_record", "result_record", "tool_result_record", "usage_record"]

Record = dict[str, Any]
"""One JSON object: `type` says which event it is."""


def usage_record(usage: Usage) -> Record:
    """Token counts as JSON."""
    return {**dataclasses.asdict(usage), "total_tokens": usage.total_tokens}


def result_record(result: RunResult) -> Record:
    """How a run ended: answer, stop reason, usage, citations."""
    output = result.output
    return {
        "type": "run_finished",
        "stop_reason": str(result.stop_reason),
        "final_text": result.final_text,
        "output": None if isinstance(output, str) else _json(output),
        "usage": usage_record(result.usage),
        "citations": [dataclasses.asdict(c) for c in result.citations],
        "recoveries": len(result.recoveries),
    }


def tool_result_record(result: ToolResult) -> Record:
    """What a tool call returned (the output the model read), how long it took, any error."""
    return {
        "type": "tool_result",
        "id": result.call.id,
        "recipient": result.call.recipient,
        "output": result.output,
        "error": None if result.error is None else str(result.error),
        "traceback": result.traceback,
        "files": [str(path) for path in result.files],
        "data": _json(result.data),
        "duration_s": round(result.duration_s, 4),
    }


def event_record(event: Event) -> Record:
    """One event as a JSON record."""
    match event:
        case TextDelta(text=text, channel=channel, recipient=recipient):
            return {"type": "text_delta", "text": text, "channel": channel, "recipient": recipient}
        case MessageDone(message=message):
            return {"type": "message", **dataclasses.asdict(message)}
        case ToolCallStarted(call=call):
            return {"type": "tool_call", **dataclasses.asdict(call)}
        case ToolCallFinished(result=result):
            return tool_result_record(result)
        case Recovered(recovery=recovery):
            return {"type": "recovery", "kind": str(recovery.kind), "detail": recovery.detail}
        case ContextTrimmed():
            return {"type": "context_trimmed", **dataclasses.asdict(event)}
        case GenerationFinished(finish_reason=finish, completion_tokens=tokens, usage=usage):
            return {
                "type": "generation",
                "finish_reason": None if finish is None else str(finish),
                "completion_tokens": tokens,
                "usage": usage_record(usage),
            }
        case RunFinished(result=result):
            return result_record(result)


def _json(value: Any) -> Any:
    """Any value as plain JSON data (unknown objects as their str)."""
    return pydantic_core.to_jsonable_python(value, fallback=str)
