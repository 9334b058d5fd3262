"""Every corpus case through the real loop on a ScriptedEngine: no run crashes, and each ends
with the outcome its case names (clean, repaired, model told, or stopped by a limit)."""

from __future__ import annotations

import pytest
from harmony_agent import Agent, RunResult
from harmony_agent._harmony import parse_conversation
from harmony_agent.engines import ScriptedEngine
from harmony_agent.tools.browser import Browser, BrowserConfig

from tests.fakes import DATE, StopIgnoringEngine

from .cases import CASES, PROMPT, Case, Outcome
from .tools import Received, RecordingPython, corpus_functions


def build(case: Case, received: Received) -> tuple[Agent, ScriptedEngine, RecordingPython]:
    engine_type = StopIgnoringEngine if case.ignore_stop else ScriptedEngine
    engine = engine_type(list(case.script))
    python = RecordingPython(received)
    tools = [*corpus_functions(received), python, Browser(BrowserConfig())]
    options: dict[str, object] = {"reasoning": "low", "current_date": DATE}
    options.update(case.settings)
    return Agent(engine=engine, tools=tools, **options), engine, python  # type: ignore[arg-type]


def assert_transcript_reparses(agent: Agent, result: RunResult) -> None:
    tokens = list(agent.render_preamble())
    for entry in result.history:
        tokens.extend(entry.tokens)
    assert len(parse_conversation(tokens)) == 2 + len(result.history.entries)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_corpus_case(case: Case) -> None:
    received: Received = []
    agent, engine, python = build(case, received)

    result = await agent.arun(PROMPT)

    engine.assert_consumed()
    assert python.sessions_open == 0
    assert_transcript_reparses(agent, result)
    tool_messages = [m for m in result.messages if m.role == "tool"]
    ran = tuple(
        message.author
        for message, outcome in zip(tool_messages, result.tool_calls, strict=True)
        if outcome.error is None
    )
    errors = tuple(outcome.error for outcome in result.tool_calls if outcome.error is not None)
    corrections = [m for m in result.messages[1:] if m.author == "user"]
    kinds = {recovery.kind for recovery in result.recoveries}
    context = f"{case.source}\nrecoveries: {result.recoveries}\nerrors: {errors}"

    assert result.stop_reason is case.stop, context
    assert ran == case.calls, context
    assert errors == case.errors, context
    assert bool(corrections) == case.corrected, context
    assert case.recoveries <= kinds, context
    if case.final is not None:
        assert result.final_text == case.final, context
    if case.received is not None:
        assert tuple(received) == case.received, context
    match case.outcome:
        case Outcome.CLEAN:
            assert not kinds and not errors and not corrections, context
        case Outcome.REPAIRED:
            assert kinds and not errors and not corrections, context
        case Outcome.TOLD:
            assert errors or corrections, context
            assert all(o.output.startswith("Error:") for o in result.tool_calls if o.error)
        case Outcome.STOPPED:
            assert not result.ok, context


def test_the_corpus_covers_the_reports_and_every_outcome() -> None:
    assert len({case.id for case in CASES}) == len(CASES)
    malformed = [case for case in CASES if case.outcome is not Outcome.CLEAN]
    assert len(malformed) >= 30
    assert {case.outcome for case in CASES} == set(Outcome)
    assert all(case.source for case in CASES)
