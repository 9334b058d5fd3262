"""Client functions: the model calls a function the caller runs; the run stops at the call and
goes on, in the same turn, from the output the caller sends back."""

from __future__ import annotations

import pytest
from harmony_agent import CallOutput, ConfigError, StopReason, ToolCallStarted, ToolErrorKind
from harmony_agent._harmony import decode
from harmony_agent._messages import RecoveryKind
from harmony_agent.tools import FunctionSpec

from tests.fakes import final, make_agent

LOOKUP = FunctionSpec(
    "lookup",
    "Looks a word up in the client's dictionary.",
    {"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]},
)
THINK = "<|channel|>analysis<|message|>I should look the word up.<|end|>"
CALL = '<|start|>assistant<|channel|>commentary to=functions.lookup <|constrain|>json<|message|>{"word": "gale"}<|call|>'


async def test_a_client_call_ends_the_run_with_the_call() -> None:
    agent, engine = make_agent([THINK + CALL], client_functions=[LOOKUP])
    events: list[object] = []
    result = await agent.arun("What is a gale?", on_event=events.append)
    assert result.stop_reason is StopReason.CLIENT_CALL
    assert result.pending_call is not None
    assert result.pending_call.recipient == "functions.lookup"
    assert result.pending_call.arguments == '{"word": "gale"}'
    assert result.tool_calls == ()  # nothing ran here
    assert any(isinstance(e, ToolCallStarted) for e in events)
    assert "type lookup = " in decode(engine.prompts[0])  # the model saw the function
    engine.assert_consumed()


async def test_the_output_continues_the_turn_with_its_reasoning() -> None:
    agent, engine = make_agent([THINK + CALL, final("A strong wind.")], client_functions=[LOOKUP])
    first = await agent.arun("What is a gale?")
    second = await agent.arun(CallOutput("a very strong wind"), history=first)
    assert second.stop_reason is StopReason.FINAL
    assert second.final_text == "A strong wind."
    prompt = decode(engine.prompts[1])
    assert "I should look the word up." in prompt  # the turn's analysis is kept
    assert prompt.endswith(
        "<|start|>functions.lookup to=assistant<|channel|>commentary<|message|>"
        "a very strong wind<|end|><|start|>assistant"
    )
    # the second request extends the first one's tokens: the engine's prefix cache hits
    assert engine.prompts[1][: len(engine.prompts[0])] == engine.prompts[0]
    engine.assert_consumed()


async def test_a_new_prompt_after_the_turn_drops_its_reasoning() -> None:
    agent, engine = make_agent(
        [THINK + CALL, final("A strong wind."), final("Yes.")], client_functions=[LOOKUP]
    )
    first = await agent.arun("What is a gale?")
    second = await agent.arun(CallOutput("a very strong wind"), history=first)
    await agent.arun("Is it dangerous?", history=second)
    assert "I should look the word up." not in decode(engine.prompts[2])
    engine.assert_consumed()


async def test_a_repaired_client_call_names_the_function() -> None:
    call = '<|start|>assistant<|channel|>commentary to=lookup<|message|>{"word": "gale"}<|call|>'
    agent, _ = make_agent([THINK + call], client_functions=[LOOKUP])
    result = await agent.arun("What is a gale?")
    assert result.pending_call is not None
    assert result.pending_call.recipient == "functions.lookup"
    assert [r.kind for r in result.recoveries] == [RecoveryKind.RECIPIENT_REPAIRED]


async def test_server_functions_still_run_beside_client_functions() -> None:
    weather = '<|start|>assistant<|channel|>commentary to=functions.get_weather<|message|>{"city": "Oslo"}<|call|>'
    agent, engine = make_agent([THINK + weather, THINK + CALL], client_functions=[LOOKUP])
    result = await agent.arun("Weather, then a word")
    assert [r.call.recipient for r in result.tool_calls] == ["functions.get_weather"]
    assert result.stop_reason is StopReason.CLIENT_CALL
    engine.assert_consumed()


async def test_a_cut_off_client_call_is_not_returned() -> None:
    agent, engine = make_agent([CALL, final("Sorry.")], client_functions=[LOOKUP], max_tokens=19)
    result = await agent.arun("What is a gale?")
    assert result.pending_call is None
    assert [r.error for r in result.tool_calls] == [ToolErrorKind.CUT_OFF]
    engine.assert_consumed()


async def test_tool_choice_may_name_a_client_function() -> None:
    agent, _ = make_agent(
        [final("No."), THINK + CALL], client_functions=[LOOKUP], tool_choice="lookup"
    )
    result = await agent.arun("What is a gale?")
    assert result.stop_reason is StopReason.CLIENT_CALL


def test_a_client_function_may_not_share_a_server_functions_name() -> None:
    with pytest.raises(ConfigError, match="get_weather"):
        make_agent([], client_functions=[FunctionSpec("get_weather", "clash")])


async def test_call_output_needs_a_run_that_stopped_at_a_client_call() -> None:
    agent, _ = make_agent([final("Hi.")], client_functions=[LOOKUP])
    answered = await agent.arun("Hello")
    with pytest.raises(ConfigError, match="client function call"):
        await agent.arun(CallOutput("stray"), history=answered)
