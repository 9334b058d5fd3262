"""Traces: every event of a run as a JSON line, secrets redacted, for replay and audit.

```python
from harmony_agent.traces import TraceWriter

with TraceWriter("runs/trace.jsonl", secrets=[api_key]) as trace:
    trace.start(prompt)
    result = agent.run(prompt, on_event=trace)
```
`harmony-agent show runs/trace.jsonl` renders a trace as the run looked.
"""

from harmony_agent._redact import REDACTED, Redactor
from harmony_agent.traces._records import (
    Record,
    event_record,
    result_record,
    tool_result_record,
    usage_record,
)
from harmony_agent.traces._writer import TraceWriter, read_trace

__all__ = [
    "REDACTED",
    "Record",
    "Redactor",
    "TraceWriter",
    "event_record",
    "read_trace",
    "result_record",
    "tool_result_record",
    "usage_record",
]
