"""Exact prompt tokens (decoded) that the loop sends to the engine."""

from __future__ import annotations

from enum import Enum
from typing import Literal

import pydantic
from harmony_agent import Agent, tool
from harmony_agent._harmony import decode, encode_completion
from harmony_agent.engines import ScriptedEngine

from .conftest import DATE, make_agent

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
