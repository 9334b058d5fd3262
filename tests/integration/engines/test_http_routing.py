"""HTTPEngine routing against real local servers: a run's turns stay on one replica, runs
spread over the replicas, a run spills past a failed replica or one at the cap, retries work.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing

from harmony_agent._harmony import STOP_TOKENS, encode_completion
from harmony_agent.engines import HTTPEngine, SamplingParams, TokenChunk

from .completions_server import CompletionsServer, Failure, Stream
from .test_http_engine import settings

ANSWER = "<|channel|>final<|message|>Done.<|end|>"
CALL = "<|channel|>analysis to=python<|message|>print(1)<|call|>"
RUNS = 25
"""Runs spread over two replicas: all on one has a chance of 2^-24, whatever the ports
(odd, so that round robin would move every run between its turns)."""


def turns(run: int, count: int) -> list[list[int]]:
    """The prompts of `count` turns of run `run`: each repeats the last and adds a tool call
    and its result.
    """
    text = f"<|start|>user<|message|>Task {run}: what is 1?<|end|><|start|>assistant"
    prompts = []
    for _ in range(count):
        prompts.append(encode_completion(text))
        text += f"{CALL}<|start|>python to=assistant<|channel|>analysis<|message|>1<|end|>"
        text += "<|start|>assistant"
    return prompts


def generate(engine: HTTPEngine, prompt: Sequence[int]) -> AsyncGenerator[TokenChunk, None]:
    return engine.generate(
        prompt, stop_token_ids=STOP_TOKENS, max_tokens=50, sampling=SamplingParams()
    )


async def complete(engine: HTTPEngine, prompt: Sequence[int]) -> None:
    async with aclosing(generate(engine, prompt)) as stream:
        async for _ in stream:
            pass


def served(server: CompletionsServer) -> list[list[int]]:
    return [request["prompt"] for request in server.requests]


async def test_the_turns_of_a_run_stay_on_one_replica_and_runs_spread() -> None:
    script = [Stream.of(ANSWER)] * (RUNS * 3)
    async with (
        CompletionsServer(script) as first,
        CompletionsServer(script) as second,
        HTTPEngine(settings(first.base_url, second.base_url)) as engine,
    ):
        runs = [turns(run, 3) for run in range(RUNS)]
        for turn in range(3):  # interleaved, as concurrent runs are
            for prompts in runs:
                await complete(engine, prompts[turn])
        homes = [
            {index for index, server in enumerate((first, second)) if p in served(server)}
            for prompts in runs
            for p in prompts
        ]
    by_run = [set().union(*homes[run * 3 : run * 3 + 3]) for run in range(RUNS)]
    assert all(len(home) == 1 for home in by_run)
    assert {index for home in by_run for index in home} == {0, 1}


async def test_a_failed_request_is_retried_on_the_runs_next_replica_which_keeps_the_run() -> None:
    script = [Stream.of(ANSWER)] * 3
    async with (
        CompletionsServer(script) as first,
        CompletionsServer(script) as second,
        HTTPEngine(settings(first.base_url, second.base_url, max_retries=1)) as engine,
    ):
        prompts = turns(0, 3)
        await complete(engine, prompts[0])
        home, other = (first, second) if first.requests else (second, first)
        home.script.appendleft(Failure(503))
        await complete(engine, prompts[1])  # fails at home, then answered by the other
        await complete(engine, prompts[2])  # home cools down: the run stays where it went
        assert served(home) == prompts[:2]
        assert served(other) == prompts[1:]


async def test_a_replica_at_the_cap_spills_the_run_to_another() -> None:
    hanging = [Stream.of(ANSWER, hang_after=1)] * 3
    async with (
        CompletionsServer(hanging) as first,
        CompletionsServer(hanging) as second,
        HTTPEngine(settings(first.base_url, second.base_url, replica_max_outstanding=1)) as engine,
    ):
        prompt = turns(0, 1)[0]
        streams = []
        for _ in range(3):
            stream = generate(engine, prompt)
            await anext(stream)
            streams.append(stream)
            assert first.in_flight + second.in_flight == len(streams)
        assert sorted([first.in_flight, second.in_flight]) == [1, 2]  # spilled, then shared
        for stream in streams:
            await stream.aclose()
        assert [replica.outstanding for replica in engine.replicas] == [0, 0]
