"""Exact prompt tokens (decoded) that the loop sends to the engine."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Literal

import openai_harmony as oh
import pydantic
import pytest
from harmony_agent import Agent, RunResult, tool
from harmony_agent._harmony import decode, encode_completion, parse_conversation
from harmony_agent.batch import BatchRunner, ResultsFile, Task
from harmony_agent.engines import ScriptedEngine

from tests.fakes import DATE, get_weather, make_agent

from ..corpus.tools import RecordingPython

SYSTEM_NO_TOOLS = (
    "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
    "Knowledge cutoff: 2024-06\n"
    "Current date: 2026-11-24\n\n"
    "Reasoning: low\n\n"
    "# Valid channels: analysis, commentary, final. Channel must be included for every message."
    "<|end|>"
)
SYSTEM = (
    "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
    "Knowledge cutoff: 2024-06\n"
    "Current date: 2026-11-24\n\n"
    "Reasoning: low\n\n"
    "# Valid channels: analysis, commentary, final. Channel must be included for every message.\n"
    "Calls to these tools must go to the commentary channel: 'functions'.<|end|>"
)
DEVELOPER = (
    "<|start|>developer<|message|># Tools\n\n"
    "## functions\n\n"
    "namespace functions {\n\n"
    "// Gets the current weather in a city.\n"
    "type get_weather = (_: {\n"
    '// City name, e.g. "Paris".\n'
    "city: string,\n"
    "// Temperature unit.\n"
    'unit?: "celsius" | "fahrenheit", // default: celsius\n'
    "}) => any;\n\n"
    "} // namespace functions<|end|>"
)
PREAMBLE = SYSTEM + DEVELOPER

CALL = (
    "<|channel|>analysis<|message|>Need the weather.<|end|>"
    "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json"
    '<|message|>{"city": "Paris"}<|call|>'
)
RESULT = (
    "<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>"
    '{"city":"Paris","temperature":20,"unit":"celsius"}<|end|>'
)


def prompts(engine: ScriptedEngine) -> list[str]:
    return [decode(prompt) for prompt in engine.prompts]


def test_plain_answer() -> None:
    agent, engine = make_agent(
        [
            "<|channel|>analysis<|message|>Greet.<|end|><|start|>assistant<|channel|>final<|message|>Hi!<|return|>"
        ],
        tools=[],
    )
    result = agent.run("Hello")
    assert prompts(engine) == [
        SYSTEM_NO_TOOLS + "<|start|>user<|message|>Hello<|end|><|start|>assistant"
    ]
    assert result.final_text == "Hi!"
    assert result.usage.turns == 1
    assert result.usage.prompt_tokens == len(engine.prompts[0])
    assert result.usage.completion_tokens == len(
        encode_completion(
            "<|channel|>analysis<|message|>Greet.<|end|><|start|>assistant<|channel|>final<|message|>Hi!<|return|>"
        )
    )
    engine.assert_consumed()


def test_function_call_result_final() -> None:
    agent, engine = make_agent([CALL, "<|channel|>final<|message|>20 degrees.<|return|>"])
    result = agent.run("Weather in Paris?")
    user = "<|start|>user<|message|>Weather in Paris?<|end|>"
    assert prompts(engine) == [
        PREAMBLE + user + "<|start|>assistant",
        PREAMBLE + user + "<|start|>assistant" + CALL + RESULT + "<|start|>assistant",
    ]
    # The second prompt extends the first prompt plus the generated tokens exactly.
    first, second = engine.prompts
    assert second[: len(first)] == first
    assert second[len(first) : len(first) + len(encode_completion(CALL))] == encode_completion(CALL)
    assert result.final_text == "20 degrees."
    assert [c.call.recipient for c in result.tool_calls] == ["functions.get_weather"]
    assert result.tool_calls[0].output == '{"city":"Paris","temperature":20,"unit":"celsius"}'
    assert result.usage.tool_calls == 1


def test_two_calls_in_one_turn() -> None:
    second_call = (
        "<|channel|>commentary to=functions.get_weather <|constrain|>json"
        '<|message|>{"city": "Rome", "unit": "fahrenheit"}<|call|>'
    )
    agent, engine = make_agent([CALL, second_call, "<|channel|>final<|message|>Both 20.<|return|>"])
    result = agent.run("Paris and Rome?")
    second_result = (
        "<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>"
        '{"city":"Rome","temperature":20,"unit":"fahrenheit"}<|end|>'
    )
    assert prompts(engine)[2] == (
        PREAMBLE
        + "<|start|>user<|message|>Paris and Rome?<|end|>"
        + "<|start|>assistant"
        + CALL
        + RESULT
        + "<|start|>assistant"
        + second_call
        + second_result
        + "<|start|>assistant"
    )
    assert [c.call.arguments for c in result.tool_calls] == [
        '{"city": "Paris"}',
        '{"city": "Rome", "unit": "fahrenheit"}',
    ]
    assert result.usage.turns == 3


def test_follow_up_turn_prunes_earlier_analysis() -> None:
    agent, engine = make_agent(
        [
            CALL,
            "<|channel|>analysis<|message|>Answer now.<|end|><|start|>assistant<|channel|>final<|message|>20 degrees.<|return|>",
            "<|channel|>final<|message|>You are welcome.<|return|>",
        ]
    )
    first = agent.run("Weather in Paris?")
    agent.run("Thanks!", history=first)
    assert prompts(engine)[2] == (
        PREAMBLE
        + "<|start|>user<|message|>Weather in Paris?<|end|>"
        # the analysis before the call is gone, the call and its result stay
        + "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json"
        + '<|message|>{"city": "Paris"}<|call|>'
        + RESULT
        # the final answer's <|return|> became <|end|>, its analysis is gone
        + "<|start|>assistant<|channel|>final<|message|>20 degrees.<|end|>"
        + "<|start|>user<|message|>Thanks!<|end|><|start|>assistant"
    )


def test_reasoning_effort_and_current_date() -> None:
    engine = ScriptedEngine(["<|channel|>final<|message|>ok<|return|>"])
    Agent(engine=engine, reasoning="high", current_date="2025-01-31").run("Hi")
    assert decode(engine.prompts[0]) == (
        "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
        "Knowledge cutoff: 2024-06\n"
        "Current date: 2025-01-31\n\n"
        "Reasoning: high\n\n"
        "# Valid channels: analysis, commentary, final. Channel must be included for every message."
        "<|end|><|start|>user<|message|>Hi<|end|><|start|>assistant"
    )


def test_developer_instructions() -> None:
    agent, engine = make_agent(
        ["<|channel|>final<|message|>ok<|return|>"], tools=[], instructions="Answer in French."
    )
    agent.run("Hi")
    assert prompts(engine) == [
        SYSTEM_NO_TOOLS
        + "<|start|>developer<|message|># Instructions\n\nAnswer in French.<|end|>"
        + "<|start|>user<|message|>Hi<|end|><|start|>assistant"
    ]


class Color(Enum):
    RED = "red"
    BLUE = "blue"


class Address(pydantic.BaseModel):
    street: str = pydantic.Field(description="Street and number.")
    zip_code: str | None = None


@tool
def ship(address: Address, colors: list[Color], quantity: int = 1, note: str | None = None) -> str:
    """Ships an order.

    Args:
        address: Where to ship.
        colors: Colors to include.
        quantity: How many.
        note: A note for the courier.
    """
    return "shipped"


def test_pydantic_typed_function_namespace() -> None:
    engine = ScriptedEngine(["<|channel|>final<|message|>ok<|return|>"])
    Agent(engine=engine, tools=[ship], reasoning="low", current_date=DATE).run("Ship it")
    developer = (
        decode(engine.prompts[0]).split("<|start|>developer<|message|>")[1].split("<|end|>")[0]
    )
    assert developer == (
        "# Tools\n\n"
        "## functions\n\n"
        "namespace functions {\n\n"
        "// Ships an order.\n"
        "type ship = (_: {\n"
        "// Where to ship.\n"
        "address:     // Where to ship.\n"
        "{\n"
        "    // Street and number.\n"
        "    street: string,\n"
        "    zip_code?: string | null, // default: null\n"
        "    },\n"
        "// Colors to include.\n"
        'colors: "red" | "blue"[],\n'
        "// How many.\n"
        "quantity?: number, // default: 1\n"
        "// A note for the courier.\n"
        "note?: string | null, // default: null\n"
        "}) => any;\n\n"
        "} // namespace functions"
    )


class Filter(pydantic.BaseModel):
    """Filters for a product search."""

    max_price: float | None = None


NO_FILTER = Filter()


@tool
def search_products(query: str, price: Filter | None = None, stock: Filter = NO_FILTER) -> str:
    """Searches products.

    Args:
        query: Words to search for.
        price: Price filter.
        stock: Stock filter.
    """
    return "[]"


def developer_text(prompt: list[int]) -> str:
    return decode(prompt).split("<|start|>developer<|message|>")[1].split("<|end|>")[0]


def test_a_model_parameter_keeps_its_own_description() -> None:
    """The class docstring does not replace the parameter's description (Optional or not)."""
    engine = ScriptedEngine(["<|channel|>final<|message|>ok<|return|>"])
    Agent(engine=engine, tools=[search_products], reasoning="low", current_date=DATE).run("Go")
    assert developer_text(engine.prompts[0]) == (
        "# Tools\n\n"
        "## functions\n\n"
        "namespace functions {\n\n"
        "// Searches products.\n"
        "type search_products = (_: {\n"
        "// Words to search for.\n"
        "query: string,\n"
        "// Price filter.\n"
        "price?:     // Price filter.\n"
        "{\n"
        "    max_price?: number | null, // default: null\n"
        "    }, // default: null\n"
        "// Stock filter.\n"
        "stock?:     // Stock filter.\n"
        "{\n"
        "    max_price?: number | null, // default: null\n"
        '    }, // default: {"max_price":null}\n'
        "}) => any;\n\n"
        "} // namespace functions"
    )


@tool
def file_issue(
    title: str, type: Literal["bug", "feature"], format: str = "markdown", default: bool = False
) -> str:
    """Files an issue.

    Args:
        title: One line.
        type: What kind of issue.
        format: How the body is written.
        default: Whether it is the default template.
    """
    return "filed"


def test_parameters_named_like_keywords_reach_the_model() -> None:
    engine = ScriptedEngine(["<|channel|>final<|message|>ok<|return|>"])
    Agent(engine=engine, tools=[file_issue], reasoning="low", current_date=DATE).run("Go")
    assert developer_text(engine.prompts[0]) == (
        "# Tools\n\n"
        "## functions\n\n"
        "namespace functions {\n\n"
        "// Files an issue.\n"
        "type file_issue = (_: {\n"
        "// One line.\n"
        "title: string,\n"
        "// What kind of issue.\n"
        'type: "bug" | "feature",\n'
        "// How the body is written.\n"
        'format?: string, // default: "markdown"\n'
        "// Whether it is the default template.\n"
        "default?: boolean, // default: false\n"
        "}) => any;\n\n"
        "} // namespace functions"
    )


PYTHON_CALL = (
    "<|channel|>analysis<|message|>Compute it.<|end|>"
    "<|start|>assistant<|channel|>analysis to=python code<|message|>print(6 * 7)<|call|>"
)
PYTHON_RESULT = "<|start|>python to=assistant<|channel|>analysis<|message|>ok<|end|>"
ANSWER = (
    "<|channel|>analysis<|message|>Both known.<|end|>"
    "<|start|>assistant<|channel|>final<|message|>42; 20 degrees.<|return|>"
)
# what stays of the first turn once it has ended: the function call, its result, the answer
FIRST_TURN_KEPT = (
    "<|start|>user<|message|>Weather in Paris, and 6 * 7?<|end|>"
    "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json"
    '<|message|>{"city": "Paris"}<|call|>'
    + RESULT
    + "<|start|>assistant<|channel|>final<|message|>42; 20 degrees.<|end|>"
)


def python_agent(script: list[str]) -> tuple[Agent, ScriptedEngine]:
    return make_agent(script, tools=[get_weather, RecordingPython([])])


def after_preamble(agent: Agent, prompt: list[int]) -> list[int]:
    preamble = agent.render_preamble()
    assert prompt[: len(preamble)] == preamble
    return prompt[len(preamble) :]


def harmony_prompt(conversation: list[oh.Message]) -> list[int]:
    """What harmony's renderer makes of the same conversation (it drops the analysis
    channel before the first final answer)."""
    encoding = oh.load_harmony_encoding(oh.HarmonyEncodingName.HARMONY_GPT_OSS)
    return encoding.render_conversation_for_completion(
        oh.Conversation.from_messages(conversation),
        oh.Role.ASSISTANT,
        oh.RenderConversationConfig(auto_drop_analysis=True),
    )


def first_turn_for_harmony() -> list[oh.Message]:
    def assistant(channel: str, text: str) -> oh.Message:
        return oh.Message.from_role_and_content(oh.Role.ASSISTANT, text).with_channel(channel)

    def result(tool: str, channel: str, text: str) -> oh.Message:
        author = oh.Author.new(oh.Role.TOOL, tool)
        message = oh.Message.from_author_and_content(author, text)
        return message.with_channel(channel).with_recipient("assistant")

    return [
        oh.Message.from_role_and_content(oh.Role.USER, "Weather in Paris, and 6 * 7?"),
        assistant("analysis", "Compute it."),
        assistant("analysis", "print(6 * 7)").with_recipient("python").with_content_type("code"),
        result("python", "analysis", "ok"),
        assistant("analysis", "Need the weather."),
        assistant("commentary", '{"city": "Paris"}')
        .with_recipient("functions.get_weather")
        .with_content_type("<|constrain|>json"),
        result("functions.get_weather", "commentary", WEATHER),
        assistant("analysis", "Both known."),
        assistant("final", "42; 20 degrees."),
    ]


WEATHER = '{"city":"Paris","temperature":20,"unit":"celsius"}'


async def second_turn(agent: Agent, prompt: str, history: RunResult, via: str) -> RunResult:
    if via == "arun":
        return await agent.arun(prompt, history=history)
    stream = agent.stream(prompt, history=history)  # what `chat` does
    async for _ in stream:
        pass
    return stream.result


@pytest.mark.parametrize("via", ["arun", "stream"])
async def test_later_turns_drop_builtin_calls_made_while_reasoning(via: str) -> None:
    """A finished turn's analysis channel goes, with the python call on it and the call's
    result, as harmony's renderer and vLLM drop them; the function call on commentary stays.
    Inside the turn everything stays."""
    agent, engine = python_agent(
        [PYTHON_CALL, CALL, ANSWER, "<|channel|>final<|message|>Bye.<|return|>"]
    )
    first = await agent.arun("Weather in Paris, and 6 * 7?")
    await second_turn(agent, "Thanks!", first, via)

    user = "<|start|>user<|message|>Weather in Paris, and 6 * 7?<|end|>"
    within = user + "<|start|>assistant" + PYTHON_CALL + PYTHON_RESULT + "<|start|>assistant"
    assert after_preamble(agent, engine.prompts[1]) == encode_completion(within)
    assert after_preamble(agent, engine.prompts[2]) == encode_completion(
        within + CALL + RESULT + "<|start|>assistant"
    )
    later = after_preamble(agent, engine.prompts[3])
    thanks = "<|start|>user<|message|>Thanks!<|end|><|start|>assistant"
    assert later == encode_completion(FIRST_TURN_KEPT + thanks)
    # the same messages as harmony's own renderer keeps (it orders a result's header
    # channel-first, unlike the spec, so the messages are compared, not the tokens)
    thanks_message = oh.Message.from_role_and_content(oh.Role.USER, "Thanks!")
    reference = harmony_prompt([*first_turn_for_harmony(), thanks_message])
    assert parse_conversation(later[:-2]) == parse_conversation(reference[:-2])


def test_every_finished_turn_is_pruned() -> None:
    """Turn by turn, as vLLM prunes each turn that ends in a final answer."""
    agent, engine = python_agent(
        [
            PYTHON_CALL,
            CALL,
            ANSWER,
            PYTHON_CALL,
            "<|channel|>final<|message|>Still 42.<|return|>",
            "<|channel|>final<|message|>Bye.<|return|>",
        ]
    )
    first = agent.run("Weather in Paris, and 6 * 7?")
    second = agent.run("Again?", history=first)
    agent.run("Thanks!", history=second)
    assert after_preamble(agent, engine.prompts[5]) == encode_completion(
        FIRST_TURN_KEPT
        + "<|start|>user<|message|>Again?<|end|>"
        + "<|start|>assistant<|channel|>final<|message|>Still 42.<|end|>"
        + "<|start|>user<|message|>Thanks!<|end|><|start|>assistant"
    )


async def test_batch_tasks_keep_their_own_turn_whole(tmp_path: Path) -> None:
    """A batch task is one turn: its python call and result stay in its later prompts, and
    nothing of another task reaches it."""
    agent, engine = python_agent([PYTHON_CALL, ANSWER, PYTHON_CALL, ANSWER])
    results = ResultsFile(tmp_path / "results.jsonl")
    results.open()
    tasks = [Task(id="a", prompt="Compute 6 * 7."), Task(id="b", prompt="And again.")]
    await BatchRunner(agent, results, concurrency=1).run(tasks)
    results.close()
    for index, prompt in enumerate(["Compute 6 * 7.", "And again."]):
        user = f"<|start|>user<|message|>{prompt}<|end|><|start|>assistant"
        first, second = engine.prompts[2 * index : 2 * index + 2]
        assert after_preamble(agent, first) == encode_completion(user)
        assert after_preamble(agent, second) == encode_completion(
            user + PYTHON_CALL + PYTHON_RESULT + "<|start|>assistant"
        )
