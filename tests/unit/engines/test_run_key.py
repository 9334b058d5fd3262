"""run_key: every turn of a run maps to one key, different runs to different keys."""

from __future__ import annotations

from harmony_agent._harmony import encode_completion
from harmony_agent.engines._run_key import run_key

from tests.fakes import final, make_agent

PREAMBLE = "<|start|>system<|message|>You are ChatGPT.<|end|>"
TURN_1 = PREAMBLE + "<|start|>user<|message|>What is 6*7?<|end|><|start|>assistant"
TURN_2 = (
    TURN_1 + "<|channel|>analysis to=python<|message|>print(6*7)<|call|>"
    "<|start|>python to=assistant<|channel|>analysis<|message|>42<|end|><|start|>assistant"
)
TURN_3 = (
    PREAMBLE + "<|start|>user<|message|>What is 6*7?<|end|>"
    "<|start|>assistant<|channel|>final<|message|>42<|end|>"
    "<|start|>user<|message|>And 6*8?<|end|><|start|>assistant"
)


def key(text: str) -> bytes:
    return run_key(encode_completion(text))


def test_the_turns_of_a_run_share_its_key() -> None:
    assert key(TURN_1) == key(TURN_2) == key(TURN_3)


def test_runs_that_differ_in_their_first_user_message_or_preamble_get_different_keys() -> None:
    other_question = TURN_1.replace("6*7", "6*9")
    other_system = TURN_1.replace("ChatGPT", "a helper")
    assert len({key(TURN_1), key(other_question), key(other_system)}) == 3


def test_a_prompt_without_a_user_message_is_keyed_by_all_of_it() -> None:
    bare = "<|start|>system<|message|>Hi<|end|><|start|>assistant"
    assert key(bare) != key(bare + "<|channel|>final<|message|>Hello<|end|><|start|>assistant")
    assert key(bare) == key(bare)


def test_a_user_message_cut_off_before_its_end_keys_the_whole_prompt() -> None:
    cut = PREAMBLE + "<|start|>user<|message|>What is"
    assert key(cut) != key(cut + " 6*7?")


CALL = (
    "<|channel|>analysis<|message|>Need the weather.<|end|><|start|>assistant"
    '<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city": "Oslo"}'
    "<|call|>"
)


async def test_every_prompt_of_an_agent_chat_shares_one_key_and_other_tasks_differ() -> None:
    agent, engine = make_agent([CALL, final("4 °C."), CALL, final("Still 4 °C.")])
    first = await agent.arun("Weather in Oslo?")
    await agent.arun("And now?", history=first)  # the finished turn's analysis is pruned
    other, other_engine = make_agent([final("Sunny.")])
    await other.arun("Weather in Lima?")
    assert len(engine.prompts) == 4
    pruned, earlier = engine.prompts[2], engine.prompts[1]
    assert pruned[: len(earlier)] != earlier  # the chat's second question does not extend it
    assert {run_key(prompt) for prompt in engine.prompts} == {run_key(engine.prompts[0])}
    assert run_key(other_engine.prompts[0]) != run_key(engine.prompts[0])
