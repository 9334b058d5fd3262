"""Traces: every event of a run as a JSON line, secrets redacted, for replay and audit.

```python
from harmony_agent.traces import TraceWriter, read_trace

with TraceWriter("runs/trace.jsonl", secrets=[api_key]) as trace:
    trace.start(prompt)
    result = agent.run(prompt, on_event=trace)

for record in read_trace("runs/trace.jsonl"):
    if record["type"] == "tool_result":  # narrows `record` to a ToolResultRecord
        print(record["recipient"], record["duration_s"])
```
`harmony-agent show runs/trace.jsonl` renders a trace as the run looked. Each kind of record
is a TypedDict tagged by its `type`; `Record` is their union.
"""

from harmony_agent._redact import REDACTED, Redactor
from harmony_agent.traces._records import (
    CitationRecord,
    ContextTrimmedRecord,
    ErrorRecord,
    EventRecord,
    GenerationRecord,
    MessageRecord,
    Record,
    RecoveryRecord,
    RunFinishedRecord,
    RunStartedRecord,
    Stamp,
    TextDeltaRecord,
    ToolCallRecord,
    ToolResultRecord,
    UsageRecord,
    event_record,
    result_record,
    tool_result_record,
    usage_record,
)
from harmony_agent.traces._writer import TraceWriter, read_trace

__all__ = [
    "REDACTED",
    "CitationRecord",
    "ContextTrimmedRecord",
    "ErrorRecord",
    "EventRecord",
    "GenerationRecord",
    "MessageRecord",
    "Record",
    "RecoveryRecord",
    "Redactor",
    "RunFinishedRecord",
    "RunStartedRecord",
    "Stamp",
    "TextDeltaRecord",
    "ToolCallRecord",
    "ToolResultRecord",
    "TraceWriter",
    "UsageRecord",
    "event_record",
    "read_trace",
    "result_record",
    "tool_result_record",
    "usage_record",
]
