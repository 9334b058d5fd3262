"""Events as JSON records: what a trace file holds and what the CLI renders.

Each kind of record is a TypedDict, tagged by its `type`; `Record` is their union, so code
that reads a field a run does not write fails the type check. A record written to a file also
carries the `Stamp` fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, NotRequired, TypedDict

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

__all__ = [
    "CitationRecord",
    "ContextTrimmedRecord",
    "ErrorRecord",
    "EventRecord",
    "GenerationRecord",
    "MessageRecord",
    "Record",
    "RecoveryRecord",
    "RunFinishedRecord",
    "RunStartedRecord",
    "Stamp",
    "TextDeltaRecord",
    "ToolCallRecord",
    "ToolResultRecord",
    "UsageRecord",
    "event_record",
    "result_record",
    "tool_result_record",
    "usage_record",
]


class Stamp(TypedDict, total=False):
    """What `TraceWriter` adds to every record it writes."""

    ts: str
    """When, in UTC, ISO 8601."""
    elapsed_s: float
    """Seconds since the run started."""
    run: int
    """The run's number in the file (1 for the first)."""


class UsageRecord(TypedDict):
    """Token counts (`Usage`) with their total."""

    prompt_tokens: int
    completion_tokens: int
    cached_prompt_tokens: int
    turns: int
    tool_calls: int
    total_tokens: int


class CitationRecord(TypedDict):
    """A source the final answer cites (`Citation`); `lines` are the first and the last."""

    marker: str
    url: str
    title: str
    lines: Sequence[int]
    text: str


class RunStartedRecord(Stamp):
    """A run begins on `prompt`; the CLI and batch runs add the details below."""

    type: Literal["run_started"]
    prompt: str
    history_messages: NotRequired[int]
    """Messages of earlier turns the run continues (`chat`)."""
    task_id: NotRequired[str]
    """The batch task the run is for."""


class TextDeltaRecord(Stamp):
    """Streamed text (shown live, never written to a trace)."""

    type: Literal["text_delta"]
    text: str
    channel: str | None
    recipient: str | None


class MessageRecord(Stamp):
    """A whole message (`Message`)."""

    type: Literal["message"]
    author: str
    text: str
    channel: str | None
    recipient: str | None
    content_type: str | None


class ToolCallRecord(Stamp):
    """A call the model made (`ToolCall`)."""

    type: Literal["tool_call"]
    id: str
    recipient: str
    arguments: str
    channel: str | None
    content_type: str | None


class ToolResultRecord(Stamp):
    """What a call returned (`ToolResult`): the output the model read, its error kind if any."""

    type: Literal["tool_result"]
    id: str
    recipient: str
    output: str
    error: str | None
    traceback: str | None
    files: list[str]
    data: Any
    """The tool's data as JSON."""
    duration_s: float


class RecoveryRecord(Stamp):
    """A repair of malformed model output (`Recovery`)."""

    type: Literal["recovery"]
    kind: str
    detail: str


class ContextTrimmedRecord(Stamp):
    """Tokens taken out to fit the context window (`ContextTrimmed`)."""

    type: Literal["context_trimmed"]
    kind: str
    tokens_removed: int
    detail: str


class GenerationRecord(Stamp):
    """A generation ended (`GenerationFinished`), with the run's usage so far."""

    type: Literal["generation"]
    finish_reason: str | None
    completion_tokens: int
    usage: UsageRecord


class RunFinishedRecord(Stamp):
    """How a run ended (`RunResult`); `recoveries` counts the repairs."""

    type: Literal["run_finished"]
    stop_reason: str
    final_text: str
    output: Any
    """The structured answer as JSON; None for a text answer."""
    usage: UsageRecord
    citations: list[CitationRecord]
    recoveries: int


class ErrorRecord(Stamp):
    """A run failed with an exception of kind `kind` (its class name)."""

    type: Literal["error"]
    kind: str
    message: str


EventRecord = (
    TextDeltaRecord
    | MessageRecord
    | ToolCallRecord
    | ToolResultRecord
    | RecoveryRecord
    | ContextTrimmedRecord
    | GenerationRecord
    | RunFinishedRecord
)
"""One event as a record."""

Record = RunStartedRecord | EventRecord | ErrorRecord
"""One record of a trace, tagged by its `type`."""


def usage_record(usage: Usage) -> UsageRecord:
    """Token counts as JSON."""
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cached_prompt_tokens": usage.cached_prompt_tokens,
        "turns": usage.turns,
        "tool_calls": usage.tool_calls,
        "total_tokens": usage.total_tokens,
    }


def result_record(result: RunResult) -> RunFinishedRecord:
    """How a run ended: answer, stop reason, usage, citations."""
    output = result.output
    return {
        "type": "run_finished",
        "stop_reason": str(result.stop_reason),
        "final_text": result.final_text,
        "output": None if isinstance(output, str) else _json(output),
        "usage": usage_record(result.usage),
        "citations": [
            {"marker": c.marker, "url": c.url, "title": c.title, "lines": c.lines, "text": c.text}
            for c in result.citations
        ],
        "recoveries": len(result.recoveries),
    }


def tool_result_record(result: ToolResult) -> ToolResultRecord:
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


def event_record(event: Event) -> EventRecord:
    """One event as a JSON record."""
    match event:
        case TextDelta(text=text, channel=channel, recipient=recipient):
            return {"type": "text_delta", "text": text, "channel": channel, "recipient": recipient}
        case MessageDone(message=message):
            return {
                "type": "message",
                "author": message.author,
                "text": message.text,
                "channel": message.channel,
                "recipient": message.recipient,
                "content_type": message.content_type,
            }
        case ToolCallStarted(call=call):
            return {
                "type": "tool_call",
                "id": call.id,
                "recipient": call.recipient,
                "arguments": call.arguments,
                "channel": call.channel,
                "content_type": call.content_type,
            }
        case ToolCallFinished(result=result):
            return tool_result_record(result)
        case Recovered(recovery=recovery):
            return {"type": "recovery", "kind": str(recovery.kind), "detail": recovery.detail}
        case ContextTrimmed(kind=kind, tokens_removed=removed, detail=detail):
            return {
                "type": "context_trimmed",
                "kind": kind,
                "tokens_removed": removed,
                "detail": detail,
            }
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
