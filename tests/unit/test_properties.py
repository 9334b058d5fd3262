"""Property tests: random token streams never break a run, its limits or its transcript."""

from __future__ import annotations

from dataclasses import replace

import pytest
from harmony_agent import FunctionTool, RunResult, StopReason, ToolError, tool
from harmony_agent._harmony import (
    SpecialToken,
    decode,
    encode_completion,
    encode_text,
    parse_conversation,
)
from harmony_agent._parser import CompletionParser
from harmony_agent.engines import ScriptedEngine
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.fakes import StopIgnoringEngine, get_weather, make_agent

PIECES = [
    "analysis",
    "commentary",
    "final",
    "assistant",
    "user",
    "functions.get_weather",
    "functions.boom",
    "get_weather",
    "python",
    "browser.search",
    " to=",
    "to=functions.",
    "json",
    " code",
    '{"city": "Paris"}',
    '{"city": 3}',
    "{",
    "}",
    '"',
    "\\n",
    " ",
    "é🤖",
    "<|channel|>",
    "<|message|>",
    "<|end|>",
    "<|call|>",
    "<|start|>",
    "<|return|>",
    "The answer is 42.",
    "thinking...",
    # shapes from the corpus of reported failures (tests/corpus)
    "assistantassistant",
    "functions.get_weatherjson",
    "to=to=",
    "\u2013\u2013",
    "\u202f",
    "??",
    "__HANDOFF__",
    '{"city": NaN}',
    "[[[[",
]
TEXT_TOKENS = sorted({token for piece in PIECES for token in encode_text(piece)})
SPECIAL = [token.value for token in SpecialToken] + [199999, 200017, 201000]

token = st.one_of(st.sampled_from(TEXT_TOKENS), st.sampled_from(SPECIAL))
completion = st.lists(token, max_size=60)
well_formed_piece = st.sampled_from(
    [
        "<|channel|>analysis<|message|>Hmm.<|end|><|start|>assistant",
        '<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city": "Paris"}<|call|>',
        "<|channel|>final<|message|>Done.<|return|>",
        "<|channel|>commentary to=functions.boom <|constrain|>json<|message|>{}<|call|>",
    ]
)


RANDOM_SCRIPT = pytest.mark.unconsumed_script(
    reason="random completions: the run ends at the first answer or limit, wherever it falls"
)


@tool
def boom() -> str:
    """Always fails."""
    raise ToolError("boom")


def run_scripted(
    completions: list[list[int]], *, ignore_stop: bool = False, **limits: object
) -> RunResult:
    agent, _ = make_agent([], tools=[get_weather, boom], **limits)
    engine = (StopIgnoringEngine if ignore_stop else ScriptedEngine)(completions)
    return replace(agent, engine=engine).run("Weather in Paris?")


def check_result(
    result: RunResult, *, max_turns: int, max_tokens: int, max_run_tokens: int
) -> None:
    assert isinstance(result.stop_reason, StopReason)
    assert result.usage.turns <= max_turns
    assert result.usage.completion_tokens <= min(max_run_tokens, max_turns * max_tokens)
    # at most one call runs per generation, and every failed call told the model why
    assert result.usage.tool_calls <= result.usage.turns
    assert all(r.output.startswith("Error:") for r in result.tool_calls if r.error is not None)
    # the transcript the next turn would see is well-formed harmony, message for message
    agent, _ = make_agent([], tools=[get_weather, boom])
    tokens = list(agent.render_preamble())
    for entry in result.history:
        tokens.extend(entry.tokens)
    parsed = parse_conversation(tokens)
    assert len(parsed) == 2 + len(result.history.entries)
    for entry, message in zip(result.history, parsed[2:], strict=True):
        assert (message.channel, message.recipient) == (
            entry.message.channel,
            entry.message.recipient,
        )


@RANDOM_SCRIPT
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(completions=st.lists(completion, min_size=4, max_size=4))
def test_random_token_streams_never_break_a_run(completions: list[list[int]]) -> None:
    result = run_scripted(completions, max_turns=4, max_tokens=40, max_run_tokens=120)
    check_result(result, max_turns=4, max_tokens=40, max_run_tokens=120)


@RANDOM_SCRIPT
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    completions=st.lists(
        st.tuples(st.lists(well_formed_piece, min_size=1, max_size=3), completion, st.booleans()),
        min_size=5,
        max_size=5,
    )
)
def test_mixed_valid_and_broken_output(
    completions: list[tuple[list[str], list[int], bool]],
) -> None:
    """Well-formed messages followed by garbage, sometimes cut off."""
    scripts = []
    for pieces, garbage, cut in completions:
        tokens = encode_completion("".join(pieces)) + garbage
        scripts.append(tokens[: len(tokens) // 2] if cut else tokens)
    result = run_scripted(scripts, max_turns=5, max_tokens=64, max_run_tokens=250)
    check_result(result, max_turns=5, max_tokens=64, max_run_tokens=250)


@RANDOM_SCRIPT
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(completions=st.lists(completion, min_size=4, max_size=4))
def test_random_streams_from_a_server_that_ignores_stop_tokens(
    completions: list[list[int]],
) -> None:
    """Everything after a call or an answer arrives too; only the first action counts."""
    result = run_scripted(
        completions, ignore_stop=True, max_turns=4, max_tokens=40, max_run_tokens=120
    )
    check_result(result, max_turns=4, max_tokens=40, max_run_tokens=120)


@settings(max_examples=500, deadline=None)
@given(tokens=st.lists(token, max_size=120), truncated=st.booleans())
def test_parser_never_raises_and_always_yields_closed_messages(
    tokens: list[int], truncated: bool
) -> None:
    parser = CompletionParser()
    for t in tokens:
        parser.feed(t)
    parser.finish(truncated=truncated)
    for parsed in parser.messages:
        assert parsed.tokens[:1] == (SpecialToken.START.value,)
        assert parsed.tokens[-1] in (SpecialToken.END.value, SpecialToken.CALL.value)
        assert (parsed.tokens[-1] == SpecialToken.CALL.value) == bool(parsed.message.recipient)


PROSE = ["Answer in French.", "Be brief", ".", "!", "?", ":", ")", "\n", "\n\n", " ", "é", "🤖"]
prose = st.lists(
    st.one_of(st.sampled_from(PROSE), st.text(st.characters(exclude_categories=["Cs"]))),
    max_size=6,
).map("".join)
plain_prose = prose.filter(lambda text: "<|" not in text)  # no text spells a special token
parameter_names = st.sampled_from(["city", "title", "type", "format", "default", "items"])
parameter = st.fixed_dictionaries(
    {"type": st.sampled_from(["string", "integer", "boolean"])},
    optional={"description": plain_prose},
)
arguments_schema = st.dictionaries(parameter_names, parameter, max_size=3).map(
    lambda properties: {"type": "object", "properties": properties}
)
function = st.builds(
    lambda name, description, parameters: FunctionTool(
        name=name, description=description, parameters=parameters, handler=dict
    ),
    st.sampled_from(["lookup", "get_weather", "send"]),
    plain_prose,
    st.one_of(st.none(), arguments_schema),
)
output_type = st.one_of(
    st.none(),
    st.builds(
        lambda schema, description: {**schema, "title": "answer", "description": description},
        arguments_schema,
        plain_prose,
    ),
)


@settings(max_examples=200, deadline=None)
@example(  # instructions ending in punctuation, then the response format section
    instructions="Answer in French.",
    functions=[],
    output={"title": "answer", "type": "object", "properties": {}},
    prompt="Hi",
)
@given(
    instructions=st.one_of(st.none(), plain_prose),
    functions=st.lists(function, max_size=2, unique_by=lambda f: f.name),
    output=output_type,
    prompt=plain_prose,
)
def test_every_prompt_before_the_model_writes_is_canonically_encoded(
    instructions: str | None,
    functions: list[FunctionTool],
    output: dict[str, object] | None,
    prompt: str,
) -> None:
    """Each message is encoded as one string: no token boundary the model never saw."""
    agent, engine = make_agent(
        ["<|channel|>final<|message|>{}<|return|>"],
        tools=functions,
        instructions=instructions,
        output_type=output,
    )
    agent.run(prompt)
    first = engine.prompts[0]
    assert encode_completion(decode(first)) == first
