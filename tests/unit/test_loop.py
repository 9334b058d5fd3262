"""The agent loop: events, limits, cancellation, concurrency, built-in tool sessions."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest
from harmony_agent import (
    Agent,
    Citation,
    ConfigError,
    EngineError,
    GenerationFinished,
    InvalidEngineOutput,
    MessageDone,
    RunFinished,
    ScriptExhausted,
    StopReason,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    tool,
)
from harmony_agent._harmony import encode_completion, vocabulary_size
from harmony_agent.engines import FinishReason, SamplingParams, ScriptedEngine, TokenChunk
from harmony_agent.tools import BuiltinTool, ToolNamespace, ToolOutput, ToolSession

from tests.fakes import get_weather, make_agent

CALL = (
    "<|channel|>analysis<|message|>Need it.<|end|><|start|>assistant<|channel|>commentary "
    'to=functions.get_weather <|constrain|>json<|message|>{"city": "Paris"}<|call|>'
)
FINAL = "<|channel|>final<|message|>Twenty.<|return|>"


async def test_stream_events_in_order() -> None:
    agent, _ = make_agent([CALL, FINAL])
    events = [event async for event in agent.stream("Weather?")]
    kinds = [type(e).__name__ for e in events if not isinstance(e, TextDelta)]
    assert kinds == [
        "MessageDone",  # user
        "GenerationFinished",
        "MessageDone",  # analysis
        "MessageDone",  # call
        "ToolCallStarted",
        "MessageDone",  # result
        "ToolCallFinished",
        "GenerationFinished",
        "MessageDone",  # final
        "RunFinished",
    ]
    deltas = [(e.channel, e.recipient, e.text) for e in events if isinstance(e, TextDelta)]
    assert "".join(t for c, _, t in deltas if c == "analysis") == "Need it."
    assert "".join(t for c, r, t in deltas if r == "functions.get_weather") == '{"city": "Paris"}'
    assert "".join(t for c, _, t in deltas if c == "final") == "Twenty."
    finished = events[-1]
    assert isinstance(finished, RunFinished) and finished.result.final_text == "Twenty."
    generations = [e for e in events if isinstance(e, GenerationFinished)]
    assert [g.finish_reason for g in generations] == [FinishReason.STOP, FinishReason.STOP]
    assert generations[1].usage.turns == 2


async def test_on_event_callback_sees_the_same_events() -> None:
    agent, _ = make_agent([CALL, FINAL])
    seen: list[object] = []
    result = await agent.arun("Weather?", on_event=seen.append)
    assert isinstance(seen[-1], RunFinished) and seen[-1].result is result
    assert sum(isinstance(e, ToolCallStarted) for e in seen) == 1
    assert sum(isinstance(e, ToolCallFinished) for e in seen) == 1
    assert sum(isinstance(e, MessageDone) for e in seen) == 5


def test_max_turns() -> None:
    agent, _ = make_agent([CALL, CALL], max_turns=2)
    result = agent.run("Weather?")
    assert result.stop_reason is StopReason.MAX_TURNS
    assert result.usage.turns == 2
    assert result.final_text == ""


def test_run_token_budget() -> None:
    agent, _ = make_agent([CALL, CALL], max_run_tokens=45)
    result = agent.run("Weather?")
    assert result.stop_reason is StopReason.TOKEN_BUDGET
    assert result.usage.completion_tokens <= 45


async def test_timeout_returns_a_partial_result() -> None:
    @tool
    async def get_weather(city: str) -> str:
        """Slow weather."""
        await asyncio.sleep(10)
        return "sunny"

    agent, _ = make_agent([CALL], tools=[get_weather], timeout=0.2)
    started = time.monotonic()
    result = await agent.arun("Weather?")
    assert time.monotonic() - started < 2
    assert result.stop_reason is StopReason.TIMEOUT
    assert [m.channel for m in result.messages[1:]] == ["analysis", "commentary"]


async def test_stream_cancel_ends_the_run_with_a_result() -> None:
    agent, _ = make_agent([])
    agent = replace(agent, engine=ScriptedEngine([CALL], token_delay=0.05))
    stream = agent.stream("Weather?")
    events = []
    async for event in stream:
        events.append(event)
        if isinstance(event, TextDelta):
            stream.cancel()
    assert stream.result.stop_reason is StopReason.CANCELLED
    assert isinstance(events[-1], RunFinished)


async def test_leaving_a_stream_early_cancels_and_closes_tool_sessions() -> None:
    tool_ = Counter()
    agent, _ = make_agent([])
    agent = replace(
        agent,
        engine=ScriptedEngine(["<|channel|>analysis to=counter<|message|>slow<|call|>"]),
        tools=[tool_],
    )
    async with agent.stream("Count") as stream:
        async for event in stream:
            if isinstance(event, ToolCallStarted):
                break
    assert tool_.opened == 1 and tool_.closed == 1


async def test_task_cancellation_propagates_and_releases_sessions() -> None:
    tool_ = Counter()
    agent, _ = make_agent([])
    agent = replace(
        agent,
        engine=ScriptedEngine(["<|channel|>analysis to=counter<|message|>slow<|call|>"]),
        tools=[tool_],
    )
    task = asyncio.create_task(agent.arun("Count"))
    await tool_.started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert tool_.closed == 1


async def test_many_concurrent_runs_share_one_engine() -> None:
    cities = [f"City{i}" for i in range(40)]
    scripts = {
        city: [
            "<|channel|>commentary to=functions.get_weather <|constrain|>json"
            f'<|message|>{{"city": "{city}"}}<|call|>',
            f"<|channel|>final<|message|>{city} is warm.<|return|>",
        ]
        for city in cities
    }
    engine = ScriptedEngine.routed(scripts, token_delay=0.001)
    agent = Agent(engine=engine, tools=[get_weather], current_date="2026-11-24")
    results = await asyncio.gather(*(agent.arun(f"Weather in {city}?") for city in cities))
    assert [r.final_text for r in results] == [f"{city} is warm." for city in cities]
    assert all(
        f'"city":"{city}"' in r.tool_calls[0].output
        for city, r in zip(cities, results, strict=True)
    )
    engine.assert_consumed()


async def test_builtin_tool_session_lifecycle() -> None:
    counter = Counter(delay=0)
    agent, _ = make_agent([])
    agent = replace(
        agent,
        engine=ScriptedEngine(
            [
                "<|channel|>analysis to=counter<|message|>a<|call|>",
                "<|channel|>analysis to=counter.add<|message|>b<|call|>",
                FINAL,
            ]
        ),
        tools=[counter],
    )
    result = await agent.arun("Count")
    assert [r.output for r in result.tool_calls] == ["1: None a", "2: add b"]
    assert result.citations == ()
    cited = replace(
        agent,
        engine=ScriptedEngine(
            [
                "<|channel|>analysis to=counter<|message|>a<|call|>",
                "<|channel|>final<|message|>One 【0†L1】.<|return|>",
            ]
        ),
    )
    citations = (await cited.arun("Count")).citations
    assert citations == (Citation("【0†L1】", "https://example.org", "Counter", (1, 1), "1"),)
    assert counter.opened == 2 and counter.closed == 2
    assert "## counter\n\nCounts calls." in _system_text(agent)


def _system_text(agent: Agent) -> str:
    from harmony_agent._harmony import decode

    return decode(agent.render_preamble())


@pytest.mark.unconsumed_script(reason="shows that assert_consumed fails on an unplayed script")
def test_engine_errors_raise() -> None:
    agent, _ = make_agent([CALL])
    with pytest.raises(ScriptExhausted, match="generate call 2 but holds 1"):
        agent.run("Weather?")
    with pytest.raises(AssertionError):
        ScriptedEngine([FINAL]).assert_consumed()


async def test_engine_abort_raises_engine_error() -> None:
    class Aborting(ScriptedEngine):
        async def generate(self, prompt_tokens, *, stop_token_ids, max_tokens, sampling):  # type: ignore[no-untyped-def]
            yield TokenChunk((), FinishReason.ABORT)

    agent = Agent(engine=Aborting([]), current_date="2026-11-24")
    with pytest.raises(EngineError, match="aborted"):
        await agent.arun("Hi")


async def test_sync_run_inside_an_event_loop_is_refused() -> None:
    agent, _ = make_agent([])
    with pytest.raises(RuntimeError, match="await arun"):
        agent.run("Hi")


def test_agent_settings_are_validated() -> None:
    engine = ScriptedEngine([])
    with pytest.raises(ConfigError, match="reasoning"):
        Agent(engine=engine, reasoning="extreme")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="max_turns"):
        Agent(engine=engine, max_turns=0)
    with pytest.raises(ConfigError, match="current_date"):
        Agent(engine=engine, current_date="24.11.2026")
    with pytest.raises(ConfigError, match="get_weather"):
        Agent(engine=engine, tools=[get_weather, get_weather])
    with pytest.raises(ConfigError, match="Engine protocol"):
        Agent(engine=object())  # type: ignore[arg-type]


def test_plain_functions_become_tools_and_agents_are_immutable() -> None:
    def add(a: int, b: int) -> int:
        """Adds."""
        return a + b

    agent = Agent(engine=ScriptedEngine([]), tools=[add])
    assert [f.name for f in agent.functions] == ["add"]
    with pytest.raises(AttributeError):
        agent.max_turns = 3  # type: ignore[misc]


def test_sampling_reaches_the_engine() -> None:
    seen: list[SamplingParams] = []

    class Recording(ScriptedEngine):
        def generate(self, prompt_tokens, *, stop_token_ids, max_tokens, sampling):  # type: ignore[no-untyped-def]
            seen.append(sampling)
            return super().generate(
                prompt_tokens,
                stop_token_ids=stop_token_ids,
                max_tokens=max_tokens,
                sampling=sampling,
            )

    Agent(engine=Recording([FINAL]), sampling=SamplingParams(temperature=0.0, seed=7)).run("Hi")
    assert seen == [SamplingParams(temperature=0.0, seed=7)]


class Counter(BuiltinTool):
    """A built-in tool that counts its calls; its session blocks on 'slow'."""

    def __init__(self, delay: float = 10) -> None:
        self.opened = 0
        self.closed = 0
        self.delay = delay
        self.started = asyncio.Event()

    @property
    def namespace(self) -> ToolNamespace:
        return ToolNamespace(name="counter", description="Counts calls.")

    async def open_session(self) -> ToolSession:
        self.opened += 1
        return _CounterSession(self)


class _CounterSession(ToolSession):
    def __init__(self, owner: Counter) -> None:
        self.owner = owner
        self.calls = 0

    async def call(self, function: str | None, arguments: str) -> ToolOutput:
        self.owner.started.set()
        if arguments == "slow":
            await asyncio.sleep(self.owner.delay)
        self.calls += 1
        return ToolOutput(f"{self.calls}: {function} {arguments}")

    def cite(self, text: str) -> list[Citation]:
        return (
            [Citation("【0†L1】", "https://example.org", "Counter", (1, 1), str(self.calls))]
            if "【0" in text
            else []
        )

    async def aclose(self) -> None:
        self.owner.closed += 1


class Unbounded(ScriptedEngine):
    """An engine that ignores `max_tokens` and stop tokens: it streams `chunk` again and again
    (after a final answer's header) and never finishes; `closed` says the loop closed it.
    """

    def __init__(self, chunk: tuple[int, ...]) -> None:
        super().__init__([])
        self.chunk = chunk
        self.closed = False

    async def generate(self, prompt_tokens, *, stop_token_ids, max_tokens, sampling):  # type: ignore[no-untyped-def]
        try:
            yield TokenChunk(tuple(encode_completion("<|channel|>final<|message|>")))
            while True:
                yield TokenChunk(self.chunk)
                await asyncio.sleep(0)
        finally:
            self.closed = True


@pytest.mark.parametrize("chunk", [(75,), (75,) * 1000], ids=["token by token", "one big chunk"])
async def test_an_engine_that_ignores_max_tokens_is_cut_off_and_closed(
    chunk: tuple[int, ...],
) -> None:
    engine = Unbounded(chunk)
    agent = Agent(engine=engine, max_tokens=50, current_date="2026-11-24")
    async with asyncio.timeout(10):  # the run went on forever
        result = await agent.arun("Hi")
    assert result.stop_reason is StopReason.MAX_TOKENS
    assert result.usage.completion_tokens == 50
    assert engine.closed


async def test_an_engine_that_ignores_the_run_token_budget_is_cut_off() -> None:
    engine = Unbounded((75,))
    agent = Agent(engine=engine, max_tokens=50, max_run_tokens=20, current_date="2026-11-24")
    async with asyncio.timeout(10):
        result = await agent.arun("Hi")
    assert result.stop_reason is StopReason.TOKEN_BUDGET
    assert result.usage.completion_tokens == 20


async def test_tokens_after_a_stop_token_are_not_read() -> None:
    answer = encode_completion(FINAL)

    class Overrunning(ScriptedEngine):
        async def generate(self, prompt_tokens, *, stop_token_ids, max_tokens, sampling):  # type: ignore[no-untyped-def]
            yield TokenChunk((*answer, *encode_completion(CALL)))
            yield TokenChunk(tuple(answer), FinishReason.STOP)

    engine = Overrunning([])
    result = await Agent(engine=engine, current_date="2026-11-24").arun("Hi")
    assert result.final_text == "Twenty."
    assert result.usage.completion_tokens == len(answer)
    assert result.messages[-1].text == "Twenty."


@pytest.mark.parametrize(
    "token",
    [-1, 2**65, 10**5000, vocabulary_size(), "7", 1.0],
    ids=["-1", "2**65", "10**5000", "vocabulary size", "str", "float"],
)
async def test_a_token_id_outside_the_vocabulary_is_an_engine_error(token: object) -> None:
    header = encode_completion("<|channel|>final<|message|>")
    engine = ScriptedEngine([[*header, token]])  # type: ignore[list-item]
    agent = Agent(engine=engine, current_date="2026-11-24")
    with pytest.raises(InvalidEngineOutput, match="outside the vocabulary") as caught:
        await agent.arun("Hi")
    assert isinstance(caught.value, EngineError)
    assert len(str(caught.value)) < 300
