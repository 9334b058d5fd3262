"""run_key: every turn of a run maps to one key, different runs to different keys."""

from __future__ import annotations

from harmony_agent._harmony import encode_completion
from harmony_agent.engines._run_key import run_key

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
