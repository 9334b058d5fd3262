"""Trace records: each kind's TypedDict names the fields its builder writes, and a record built
from a dataclass carries every field of it, as `dataclasses.asdict` wrote them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import get_type_hints

from harmony_agent import (
    Citation,
    ContextTrimmed,
    Event,
    GenerationFinished,
    Message,
    MessageDone,
    Recovered,
    Recovery,
    RecoveryKind,
    RunFinished,
    TextDelta,
    ToolCall,
    ToolCallFinished,
    ToolCallStarted,
    ToolErrorKind,
    ToolResult,
    Usage,
)
from harmony_agent.engines import FinishReason
from harmony_agent.traces import (
    CitationRecord,
    ContextTrimmedRecord,
    GenerationRecord,
    MessageRecord,
    RecoveryRecord,
    RunFinishedRecord,
    Stamp,
    TextDeltaRecord,
    ToolCallRecord,
    ToolResultRecord,
    UsageRecord,
    event_record,
    usage_record,
)

from tests.fakes import final, make_agent

MESSAGE = Message(author="assistant", text="Hi.", channel="final")
CALL = ToolCall(id="c1", recipient="functions.get_weather", arguments="{}", channel="commentary")
RESULT = ToolResult(
    CALL, "20", error=ToolErrorKind.TIMEOUT, files=(Path("a.txt"), Path("b.csv")), duration_s=0.5
)
RECOVERY = Recovery(RecoveryKind.HEADER_REPAIRED, "commentary<|x|>")
TRIMMED = ContextTrimmed(kind="tool_result_elided", tokens_removed=12, detail="one result")
USAGE = Usage(prompt_tokens=10, completion_tokens=5, cached_prompt_tokens=2, turns=1, tool_calls=1)
CITATION = Citation("【3†L9-L11】", "https://example.org", "Example", (9, 11), "cited text")


def fields_of(record_type: type) -> set[str]:
    """The keys a run writes into a record of `record_type` (the trace writer adds `Stamp`)."""
    return set(get_type_hints(record_type)) - set(get_type_hints(Stamp))


def a_run_finished() -> RunFinished:
    agent, _ = make_agent([final("Hi.")])
    result = agent.run("Hi")
    return RunFinished(dataclasses.replace(result, citations=(CITATION,)))


def test_each_kind_names_the_fields_its_builder_writes() -> None:
    kinds: list[tuple[Event, type]] = [
        (TextDelta("x", "final"), TextDeltaRecord),
        (MessageDone(MESSAGE), MessageRecord),
        (ToolCallStarted(CALL), ToolCallRecord),
        (ToolCallFinished(RESULT), ToolResultRecord),
        (Recovered(RECOVERY), RecoveryRecord),
        (TRIMMED, ContextTrimmedRecord),
        (GenerationFinished(FinishReason.STOP, 5, USAGE), GenerationRecord),
        (a_run_finished(), RunFinishedRecord),
    ]
    for event, record_type in kinds:
        record: Mapping[str, object] = event_record(event)
        assert set(record) == fields_of(record_type), record_type.__name__
    assert set(usage_record(USAGE)) == fields_of(UsageRecord)
    finished = event_record(a_run_finished())
    assert finished["type"] == "run_finished"
    assert [set(c) for c in finished["citations"]] == [fields_of(CitationRecord)]


def test_records_are_their_dataclasses_as_json() -> None:
    assert event_record(MessageDone(MESSAGE)) == {"type": "message", **dataclasses.asdict(MESSAGE)}
    assert event_record(ToolCallStarted(CALL)) == {"type": "tool_call", **dataclasses.asdict(CALL)}
    assert event_record(TRIMMED) == {"type": "context_trimmed", **dataclasses.asdict(TRIMMED)}
    assert event_record(Recovered(RECOVERY)) == {
        "type": "recovery",
        **dataclasses.asdict(RECOVERY),
        "kind": str(RECOVERY.kind),
    }
    assert usage_record(USAGE) == {**dataclasses.asdict(USAGE), "total_tokens": 15}
    finished = event_record(a_run_finished())
    assert finished["type"] == "run_finished"
    assert finished["citations"] == [dataclasses.asdict(CITATION)]
    assert event_record(ToolCallFinished(RESULT)) == {
        "type": "tool_result",
        "id": "c1",
        "recipient": "functions.get_weather",
        "output": "20",
        "error": "timeout",
        "traceback": None,
        "files": ["a.txt", "b.csv"],
        "data": {},
        "duration_s": 0.5,
    }
