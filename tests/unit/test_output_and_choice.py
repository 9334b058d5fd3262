"""Structured outputs, tool choice and the context window."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import replace

import pydantic
import pytest
from harmony_agent import (
    Agent,
    ConfigError,
    ContextTrimmed,
    Event,
    OutputValidationError,
    RecoveryKind,
    RunFinished,
    StopReason,
    TextDelta,
    ToolErrorKind,
    tool,
)
from harmony_agent._harmony import decode, encode_completion, encode_text
from harmony_agent.engines import ScriptedEngine, TokenChunk

from tests.fakes import DATE, get_weather, make_agent

CALL = '<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city": "Paris"}<|call|>'


class Weather(pydantic.BaseModel):
    """The weather in a city."""

    city: str
    celsius: float


def developer_message(engine: ScriptedEngine) -> str:
    return decode(engine.prompts[0]).split("<|start|>developer<|message|>")[1].split("<|end|>")[0]


def test_response_format_in_the_developer_message() -> None:
    agent, engine = make_agent(
        ['<|channel|>final<|message|>{"city": "Paris", "celsius": 20}<|return|>'],
        instructions="Answer in JSON.",
        output_type=Weather,
    )
    plain, plain_engine = make_agent(
        ["<|channel|>final<|message|>x<|return|>"], instructions="Answer in JSON."
    )
    result = agent.run("Weather?")
    plain.run("Weather?")
    # harmony renders instructions and tools; the response format follows, as the spec lays out
    assert developer_message(engine) == (
        developer_message(plain_engine) + "\n\n# Response Formats\n\n## Weather\n\n"
        "// The weather in a city.\n"
        '{"description":"The weather in a city.","properties":{"city":{"type":"string"},'
        '"celsius":{"type":"number"}},"required":["city","celsius"],"type":"object"}'
    )
    assert result.output == Weather(city="Paris", celsius=20)
    assert result.final_text == '{"city": "Paris", "celsius": 20}'


def test_response_format_alone_makes_a_developer_message() -> None:
    schema = {
        "title": "shopping_list",
        "type": "object",
        "properties": {"items": {"type": "array"}},
    }
    agent, engine = make_agent(
        ['<|channel|>final<|message|>```json\n{"items": ["eggs"]}\n```<|return|>'],
        tools=[],
        output_type=schema,
    )
    result = agent.run("List?")
    assert developer_message(engine) == (
        '# Response Formats\n\n## shopping_list\n\n{"type":"object","properties":{"items":{"type":"array"}}}'
    )
    assert result.output == {"items": ["eggs"]}


def test_invalid_answer_is_sent_back_then_repaired() -> None:
    agent, engine = make_agent(
        [
            '<|channel|>final<|message|>{"city": "Paris"}<|return|>',
            '<|channel|>final<|message|>{"city": "Paris", "celsius": 20.5}<|return|>',
        ],
        output_type=Weather,
    )
    result = agent.run("Weather?")
    assert result.output == Weather(city="Paris", celsius=20.5)
    assert decode(engine.prompts[1]).endswith(
        '<|start|>assistant<|channel|>final<|message|>{"city": "Paris"}<|end|>'
        "<|start|>user<|message|>Your final answer is invalid: the answer does not match the "
        "schema: answer: 'celsius' is a required property. Answer again with only the JSON that "
        "matches the response format 'Weather'.<|end|><|start|>assistant"
    )


def test_invalid_answers_until_the_retries_end_raise_with_the_raw_text() -> None:
    agent, engine = make_agent(
        ["<|channel|>final<|message|>not json<|return|>"] * 3,
        output_type=Weather,
        max_output_retries=2,
    )
    with pytest.raises(OutputValidationError) as raised:
        agent.run("Weather?")
    assert raised.value.raw_text == "not json"
    assert "not valid JSON" in raised.value.reason
    assert raised.value.result.output is None
    assert raised.value.result.usage.turns == 3
    engine.assert_consumed()


async def test_a_stream_ends_with_the_output_error_not_with_a_finished_run() -> None:
    agent, _ = make_agent(
        ["<|channel|>final<|message|>not json<|return|>"], output_type=Weather, max_output_retries=0
    )
    seen: list[Event] = []
    with pytest.raises(OutputValidationError, match="not valid JSON"):
        async for event in agent.stream("Weather?"):
            seen.append(event)
    assert seen and not any(isinstance(event, RunFinished) for event in seen)


def test_constrained_answer_continues_from_its_header_under_the_schema() -> None:
    thinking = "<|channel|>analysis<|message|>Paris, 20.<|end|><|start|>assistant"
    agent, engine = make_agent(
        [
            # the engine is stopped at the final header: what follows it is never read
            thinking + "<|channel|>final<|message|>It is 20 in Paris.<|return|>",
            '{"city": "Paris", "celsius": 20}<|return|>',
        ],
        output_type=Weather,
        constrain_output=True,
    )
    events: list[Event] = []
    result = agent.run("Weather?", on_event=events.append)

    header = encode_completion(thinking + "<|channel|>final<|message|>")
    assert [s.json_schema for s in engine.samplings] == [None, Weather.model_json_schema()]
    assert engine.prompts[1] == engine.prompts[0] + header
    assert result.output == Weather(city="Paris", celsius=20)
    assert [(m.channel, m.text) for m in result.messages[1:]] == [
        ("analysis", "Paris, 20."),
        ("final", '{"city": "Paris", "celsius": 20}'),
    ]
    answer = encode_completion('{"city": "Paris", "celsius": 20}<|return|>')
    assert result.usage.turns == 1
    assert result.usage.prompt_tokens == len(engine.prompts[0]) + len(engine.prompts[1])
    assert result.usage.completion_tokens == len(header) + len(answer)
    streamed = "".join(e.text for e in events if isinstance(e, TextDelta) and e.channel == "final")
    assert streamed == '{"city": "Paris", "celsius": 20}'


def test_an_answer_off_the_final_channel_is_written_again_under_the_schema() -> None:
    # the model ends its reasoning with <|return|>: that text was not generated under the
    # schema, so it stays reasoning and the answer is generated from the final header
    agent, engine = make_agent(
        [
            "<|channel|>analysis<|message|>It is 20 in Paris.<|return|>",
            '{"city": "Paris", "celsius": 20}<|return|>',
        ],
        output_type=Weather,
        constrain_output=True,
        max_output_retries=0,
    )
    result = agent.run("Weather?")

    assert [s.json_schema for s in engine.samplings] == [None, Weather.model_json_schema()]
    reasoning = encode_completion("<|channel|>analysis<|message|>It is 20 in Paris.<|end|>")
    header = encode_completion("<|start|>assistant<|channel|>final<|message|>")
    assert engine.prompts[1] == engine.prompts[0] + reasoning + header
    assert result.output == Weather(city="Paris", celsius=20)
    assert [(m.channel, m.text) for m in result.messages[1:]] == [
        ("analysis", "It is 20 in Paris."),
        ("final", '{"city": "Paris", "celsius": 20}'),
    ]
    assert [r.kind for r in result.recoveries] == [RecoveryKind.ANSWER_CHANNEL]
    assert result.usage.turns == 2


def test_an_answer_off_the_final_channel_before_a_required_call_is_sent_back() -> None:
    agent, engine = make_agent(
        [
            "<|channel|>analysis<|message|>It is 20 in Paris.<|return|>",
            CALL,
            "<|channel|>final<|message|>",
            '{"city": "Paris", "celsius": 20}<|return|>',
        ],
        output_type=Weather,
        constrain_output=True,
        tool_choice="required",
    )
    result = agent.run("Weather?")
    assert [s.json_schema is not None for s in engine.samplings] == [False, False, False, True]
    assert "call" in decode(engine.prompts[1]).rsplit("<|start|>user<|message|>", 1)[1]
    assert result.output == Weather(city="Paris", celsius=20)


def test_constrained_output_leaves_tool_calls_and_reasoning_free() -> None:
    agent, engine = make_agent(
        [CALL, "<|channel|>final<|message|>", '{"city": "Paris", "celsius": 20}<|return|>'],
        output_type=Weather,
        constrain_output=True,
    )
    result = agent.run("Weather?")
    assert [s.json_schema is not None for s in engine.samplings] == [False, False, True]
    assert [(r.call.recipient, r.error) for r in result.tool_calls] == [
        ("functions.get_weather", None)
    ]
    assert result.output == Weather(city="Paris", celsius=20)


def test_constrained_output_needs_a_schema_and_an_engine_that_can_constrain() -> None:
    with pytest.raises(ConfigError, match="needs an output_type"):
        make_agent([], constrain_output=True)

    class PlainEngine:
        max_model_len = None

        def generate(self, *args: object, **kwargs: object) -> AsyncGenerator[TokenChunk, None]:
            raise NotImplementedError

        async def aclose(self) -> None:
            pass

    with pytest.raises(ConfigError, match="PlainEngine does not"):
        Agent(engine=PlainEngine(), output_type=Weather, constrain_output=True)


def test_tool_choice_required() -> None:
    agent, engine = make_agent(
        [
            "<|channel|>final<|message|>Sunny.<|return|>",
            CALL,
            "<|channel|>final<|message|>20.<|return|>",
        ],
        tool_choice="required",
    )
    result = agent.run("Weather?")
    assert result.final_text == "20."
    assert decode(engine.prompts[1]).endswith(
        "<|start|>user<|message|>You must call a tool before giving your final answer.<|end|><|start|>assistant"
    )
    assert len(result.tool_calls) == 1


def test_tool_choice_required_gives_up_within_the_error_budget() -> None:
    agent, _ = make_agent(
        ["<|channel|>final<|message|>No.<|return|>"] * 3, tool_choice="required", max_model_errors=2
    )
    assert agent.run("Weather?").stop_reason is StopReason.ERROR_BUDGET


def test_tool_choice_none_hides_the_tools() -> None:
    agent, engine = make_agent(
        [CALL, "<|channel|>final<|message|>ok<|return|>"], tool_choice="none"
    )
    result = agent.run("Weather?")
    prompt = decode(engine.prompts[0])
    assert "get_weather" not in prompt and "<|start|>developer" not in prompt
    assert result.tool_calls[0].error is ToolErrorKind.UNKNOWN_TOOL


def test_tool_choice_names_a_function() -> None:
    @tool
    def get_time(city: str) -> str:
        """Gets the local time."""
        return "12:00"

    time_call = CALL.replace("get_weather", "get_time")
    agent, _ = make_agent(
        [
            CALL,
            "<|channel|>final<|message|>Hm.<|return|>",
            time_call,
            "<|channel|>final<|message|>Noon.<|return|>",
        ],
        tools=[get_weather, get_time],
        tool_choice="get_time",
    )
    result = agent.run("Time?")
    assert [(r.call.recipient, r.error) for r in result.tool_calls] == [
        ("functions.get_weather", ToolErrorKind.NOT_ALLOWED),
        ("functions.get_time", None),
    ]
    assert (
        result.tool_calls[0].output
        == "Error: call functions.get_time first; the developer requires it."
    )
    assert (
        result.messages[4].text
        == "You must call functions.get_time before giving your final answer."
    )
    assert result.final_text == "Noon."


def test_bad_settings() -> None:
    with pytest.raises(ConfigError, match="tool_choice"):
        make_agent([], tool_choice="get_time")
    with pytest.raises(ConfigError, match="output_type"):
        make_agent([], output_type={"type": 5})


@tool
def dump(part: int) -> str:
    """Returns a big document part."""
    return f"part {part}: " + "lorem ipsum " * 400


def dump_call(part: int) -> str:
    return f'<|channel|>commentary to=functions.dump <|constrain|>json<|message|>{{"part": {part}}}<|call|>'


def test_tool_output_is_cut_to_its_budget() -> None:
    agent, engine = make_agent(
        [dump_call(1), "<|channel|>final<|message|>ok<|return|>"], tools=[dump]
    )
    seen: list[object] = []
    result = replace(agent, max_tool_output_tokens=100).run("Dump", on_event=seen.append)
    output = result.tool_calls[0].output
    assert output.startswith("part 1: lorem") and "tokens cut from the middle" in output
    assert len(encode_text(output)) <= 100
    assert output in decode(engine.prompts[1])
    trimmed = [e for e in seen if isinstance(e, ContextTrimmed)]
    assert [t.kind for t in trimmed] == ["tool_output_truncated"]


def test_a_run_that_outgrows_a_small_window() -> None:
    # four calls fill the window: after the fourth result, older ones elided, no generation fits
    script = [dump_call(part) for part in range(1, 5)]
    engine = ScriptedEngine(script, max_model_len=1100)
    agent = Agent(
        engine=engine,
        tools=[dump],
        current_date=DATE,
        max_tokens=200,
        reserve_tokens=200,
        max_tool_output_tokens=600,
    )
    seen: list[object] = []
    result = agent.run("Dump everything", on_event=seen.append)
    assert result.stop_reason is StopReason.CONTEXT_FULL
    elided = [e for e in seen if isinstance(e, ContextTrimmed) and e.kind == "tool_result_elided"]
    assert elided, "older results are elided before the run gives up"
    assert all(len(prompt) + 200 <= 1100 for prompt in engine.prompts)
    last_prompt = decode(engine.prompts[-1])
    assert "was removed to keep the conversation inside the context window" in last_prompt
    assert "part 1: lorem" not in last_prompt
