"""A corpus of gpt-oss completions: malformed output as reported in the wild, and unusual but
well-formed output. Each case is data: the completions the model writes (one per generation),
the report it reproduces, and the outcome the run must reach.

Outcomes:
- CLEAN: nothing to repair; the run answers and no recovery is recorded.
- REPAIRED: the runtime repaired the output (recorded as recoveries); the model saw no error.
- TOLD: the model read an error it can act on (a tool message or a correction), then answered.
- STOPPED: the run ended with a stop reason other than a final answer (a limit).

Completions are harmony text whose special tokens are real tokens, or token lists where a
report shows special tokens written as plain text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from harmony_agent import RecoveryKind, StopReason, ToolErrorKind
from harmony_agent._harmony import SpecialToken, encode_completion, encode_text

Completion = str | list[int]


class Outcome(Enum):
    """What a case's run must end with."""

    CLEAN = "clean"
    REPAIRED = "repaired"
    TOLD = "told"
    STOPPED = "stopped"


@dataclass(frozen=True)
class Case:
    """One corpus entry.

    `calls` are the tools that ran without error (canonical names, in order); `errors` the
    tool errors the model read; `corrected` whether it read a correction (a user message);
    `recoveries` kinds that must be among those recorded; `received` what the tools got.
    `ignore_stop` plays the script on an engine that does not stop at stop tokens.
    """

    id: str
    source: str
    script: tuple[Completion, ...]
    outcome: Outcome
    final: str | None = "Done."
    calls: tuple[str, ...] = ()
    errors: tuple[ToolErrorKind, ...] = ()
    corrected: bool = False
    recoveries: frozenset[RecoveryKind] = frozenset()
    stop: StopReason = StopReason.FINAL
    received: tuple[tuple[str, object], ...] | None = None
    settings: Mapping[str, object] = field(default_factory=dict)
    ignore_stop: bool = False


PROMPT = "Weather in Paris?"
DONE = "<|channel|>final<|message|>Done.<|return|>"
ARGS = '{"city": "Paris"}'
PARIS = (("get_weather", {"city": "Paris", "unit": "celsius"}),)
CALL = f"<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{ARGS}<|call|>"
WEATHER = "functions.get_weather"
R = RecoveryKind


def spelled(text: str, end: SpecialToken | None = None) -> list[int]:
    """`text` written as plain text (special tokens spelled out), then a real `end` token."""
    return encode_text(text) + ([end.value] if end is not None else [])


def real(text: str) -> list[int]:
    """`text` with its special tokens as real tokens."""
    return encode_completion(text)


LONG_CODE = "".join(
    f'def f{n}(x):\n    """Doc {n} with "quotes" and a \\\\ backslash."""\n    return x * {n}\n\n'
    for n in range(300)
)
NESTED = {
    "name": "prod",
    "limits": {"cpu": {"request": "100m", "limit": "200m"}, "memory": {"limit": "256Mi"}},
    "rules": [
        {"match": {"path": "/api", "methods": ["GET", "POST"]}, "allow": True},
        {"match": {"path": "/admin", "methods": []}, "allow": False},
    ],
}
NNBSP = "\u202f"

MALFORMED: tuple[Case, ...] = (
    # --- between messages -------------------------------------------------------------------
    Case(
        "channel_word_after_end_without_start",
        "vLLM #22519, vLLM #22515, openai/harmony #60: 'Unexpected token 12606 (comment) while "
        "expecting start token 200006': the next message starts without <|start|>assistant",
        (
            f"<|channel|>analysis<|message|>Need the weather.<|end|>commentary to=functions."
            f"get_weather <|constrain|>json<|message|>{ARGS}<|call|>",
            DONE,
        ),
        Outcome.REPAIRED,
        calls=(WEATHER,),
        recoveries=frozenset({R.MISSING_START, R.HEADER_REPAIRED}),
        received=PARIS,
    ),
    Case(
        "assistant_after_end_without_start",
        "tenstorrent/vllm #386 ('Unexpected token N while expecting start token 200006'): "
        "`<|end|>assistant<|channel|>final` with no <|start|>",
        (
            "<|channel|>analysis<|message|>Easy.<|end|>assistant<|channel|>final<|message|>"
            "Sunny.<|return|>",
        ),
        Outcome.REPAIRED,
        final="Sunny.",
        recoveries=frozenset({R.MISSING_START}),
    ),
    Case(
        "channel_right_after_end",
        "vLLM #22519 (comment: 'Unexpected token 200005'): <|channel|> straight after <|end|>",
        ("<|channel|>analysis<|message|>Easy.<|end|><|channel|>final<|message|>Sunny.<|return|>",),
        Outcome.REPAIRED,
        final="Sunny.",
        recoveries=frozenset({R.MISSING_START}),
    ),
    Case(
        "newlines_between_messages",
        "vLLM #22519 (comment: 'Unexpected token 13 while expecting start token 200006')",
        (
            "<|channel|>analysis<|message|>Easy.<|end|>\n\n<|start|>assistant<|channel|>final"
            "<|message|>Sunny.<|return|>",
        ),
        Outcome.REPAIRED,
        final="Sunny.",
        recoveries=frozenset({R.STRAY_TOKEN}),
    ),
    Case(
        "prose_between_messages",
        "vLLM PR #43408 (`<|end|> 364 <|start|>`: text breaking the template between messages)",
        (
            "<|channel|>analysis<|message|>Easy.<|end|>So the answer is sunny.<|start|>assistant"
            "<|channel|>final<|message|>Sunny.<|return|>",
        ),
        Outcome.REPAIRED,
        final="Sunny.",
        recoveries=frozenset({R.MISSING_START, R.MISSING_HEADER}),
    ),
    Case(
        "end_twice",
        "vLLM #22519 (comment: 'Unexpected token 200007 while expecting start token 200006')",
        (
            "<|channel|>analysis<|message|>Easy.<|end|><|end|><|start|>assistant<|channel|>final"
            "<|message|>Sunny.<|return|>",
        ),
        Outcome.REPAIRED,
        final="Sunny.",
        recoveries=frozenset({R.STRAY_TOKEN}),
    ),
    Case(
        "start_start",
        "exo #1126 and vLLM PR #43408: 'Unknown role: <|start|><|start|>assistant'",
        (
            "<|channel|>analysis<|message|>Easy.<|end|><|start|><|start|>assistant<|channel|>"
            "final<|message|>Sunny.<|return|>",
        ),
        Outcome.REPAIRED,
        final="Sunny.",
        recoveries=frozenset({R.DROPPED_EMPTY}),
    ),
    Case(
        "start_right_after_the_prompt",
        "exo #1126: a <|start|> right after the prompt's <|start|>assistant",
        ("<|start|>assistant<|channel|>final<|message|>Sunny.<|return|>",),
        Outcome.REPAIRED,
        final="Sunny.",
        recoveries=frozenset({R.DROPPED_EMPTY}),
    ),
    Case(
        "assistantassistant",
        "tenstorrent/vllm #386: 'Unknown role: assistantassistant'",
        ("assistant<|channel|>final<|message|>Sunny.<|return|>",),
        Outcome.REPAIRED,
        final="Sunny.",
        recoveries=frozenset({R.HEADER_REPAIRED}),
    ),
    Case(
        "refusal_without_header",
        "openai/harmony #80 (from vLLM #23567): a refusal's reasoning written with no header, "
        "then well-formed analysis and final",
        (
            "The user asks for instructions to pick a lock. This is disallowed. We must refuse."
            "<|end|><|start|>assistant<|channel|>analysis<|message|>We must refuse.<|end|>"
            "<|start|>assistant<|channel|>final<|message|>I'm sorry, but I can't help with that."
            "<|return|>",
        ),
        Outcome.REPAIRED,
        final="I'm sorry, but I can't help with that.",
        recoveries=frozenset({R.MISSING_HEADER}),
    ),
    Case(
        "answer_without_any_header",
        "openai/harmony #80: the whole answer written without channel or message tokens",
        ("I'm sorry, but I can't help with that.<|return|>",),
        Outcome.REPAIRED,
        final="I'm sorry, but I can't help with that.",
        recoveries=frozenset({R.MISSING_HEADER}),
    ),
    # --- garbled headers --------------------------------------------------------------------
    Case(
        "channel_question_marks",
        "llama.cpp #27720: `<|channel|>??` then a well-formed analysis",
        (
            "<|channel|>??<|end|><|start|>assistant<|channel|>analysis<|message|>Easy.<|end|>"
            "<|start|>assistant<|channel|>final<|message|>Sunny.<|return|>",
        ),
        Outcome.REPAIRED,
        final="Sunny.",
        recoveries=frozenset({R.HEADER_REPAIRED, R.DROPPED_EMPTY}),
    ),
    Case(
        "channel_commentary_question_twice",
        "llama.cpp #27720: `commentary?commentary?` as the channel",
        (
            "<|channel|>commentary?commentary?<|message|>Checking.<|end|><|start|>assistant"
            "<|channel|>final<|message|>Sunny.<|return|>",
        ),
        Outcome.REPAIRED,
        final="Sunny.",
        recoveries=frozenset({R.HEADER_REPAIRED}),
    ),
    Case(
        "doubled_channel_to_assistant",
        "llama.cpp #27720: `<|channel|>commentary to=assistant<|channel|>commentary?...`",
        (
            "<|channel|>commentary to=assistant<|channel|>commentary?<|message|>Checking.<|end|>"
            "<|start|>assistant<|channel|>final<|message|>Sunny.<|return|>",
        ),
        Outcome.REPAIRED,
        final="Sunny.",
        recoveries=frozenset({R.HEADER_REPAIRED}),
    ),
    Case(
        "free_text_after_channel",
        "llama.cpp #27720: free text after <|channel|>, then a well-formed message",
        (
            "<|channel|>I should look up the weather first<|end|><|start|>assistant<|channel|>"
            "final<|message|>Sunny.<|return|>",
        ),
        Outcome.REPAIRED,
        final="Sunny.",
        recoveries=frozenset({R.HEADER_REPAIRED, R.DROPPED_EMPTY}),
    ),
    Case(
        "dashes_before_channel",
        "openai/harmony #38: 'unexpected tokens remaining in message header: "
        '["\u2013\u2013commentary"]\' (two en dashes before the channel)',
        (
            f"<|channel|>\u2013\u2013commentary to=functions.get_weather <|constrain|>json<|message|>{ARGS}"
            "<|call|>",
            DONE,
        ),
        Outcome.REPAIRED,
        calls=(WEATHER,),
        recoveries=frozenset({R.HEADER_REPAIRED}),
        received=PARIS,
    ),
    Case(
        "empty_channel",
        "vLLM PR #43408: `<|channel|><|message|>` ('channel marker present but no channel value')",
        (
            "<|channel|><|message|>Checking.<|end|><|start|>assistant<|channel|>final<|message|>"
            "Sunny.<|return|>",
        ),
        Outcome.REPAIRED,
        final="Sunny.",
        recoveries=frozenset({R.HEADER_REPAIRED}),
    ),
    Case(
        "garbage_glued_to_final",
        "llama.cpp #27720 (text glued to the channel name): `final__HANDOFF__`",
        ("<|channel|>final__HANDOFF__<|message|>Sunny.<|return|>",),
        Outcome.REPAIRED,
        final="Sunny.",
        recoveries=frozenset({R.HEADER_REPAIRED}),
    ),
    Case(
        "reserved_token_in_header",
        "vLLM PR #43408 (stray control tokens): a reserved special token inside a header",
        ("<|channel|>final<|reserved_200017|><|message|>Sunny.<|return|>",),
        Outcome.REPAIRED,
        final="Sunny.",
        recoveries=frozenset({R.STRAY_TOKEN}),
    ),
    # --- recipients -------------------------------------------------------------------------
    Case(
        "channel_token_glued_to_tool_name",
        "vLLM #32587: tool name `query_dataset<|channel|>commentary` (special tokens leak into "
        "tool names)",
        (
            f"<|channel|>commentary to=functions.get_weather<|channel|>commentary <|constrain|>json"
            f"<|message|>{ARGS}<|call|>",
            DONE,
        ),
        Outcome.REPAIRED,
        calls=(WEATHER,),
        recoveries=frozenset({R.HEADER_REPAIRED}),
        received=PARIS,
    ),
    Case(
        "channel_spelled_and_glued_to_tool_name",
        "vLLM #32587: the same with `<|channel|>commentary` written as text",
        (
            [
                *real("<|channel|>commentary to=functions.get_weather"),
                *spelled("<|channel|>commentary"),
                *real(f" <|constrain|>json<|message|>{ARGS}<|call|>"),
            ],
            DONE,
        ),
        Outcome.REPAIRED,
        calls=(WEATHER,),
        recoveries=frozenset({R.SPELLED_SPECIAL_TOKEN}),
        received=PARIS,
    ),
    Case(
        "json_glued_to_tool_name",
        "llama.cpp PR #15158 (fixes #15102): `to=functions.shelljson`, json glued to the name",
        (f"<|channel|>commentary to=functions.get_weatherjson<|message|>{ARGS}<|call|>", DONE),
        Outcome.REPAIRED,
        calls=(WEATHER,),
        recoveries=frozenset({R.RECIPIENT_REPAIRED}),
        received=PARIS,
    ),
    Case(
        "constrain_glued_to_tool_name",
        "lmstudio-bug-tracker #942: `to=functions.NAME<|constrain|>json` with no space",
        (
            f"<|channel|>commentary to=functions.get_weather<|constrain|>json<|message|>{ARGS}<|call|>",
            DONE,
        ),
        Outcome.CLEAN,
        calls=(WEATHER,),
        received=PARIS,
    ),
    Case(
        "duplicated_recipient",
        "openai/harmony #38 / vLLM #23567 ('unexpected tokens remaining in message header'): "
        "`to=` written twice",
        (
            f"<|channel|>commentary to=functions.get_weather to=functions.get_weather "
            f"<|constrain|>json<|message|>{ARGS}<|call|>",
            DONE,
        ),
        Outcome.REPAIRED,
        calls=(WEATHER,),
        recoveries=frozenset({R.HEADER_REPAIRED}),
        received=PARIS,
    ),
    Case(
        "to_to",
        "openai/harmony #38 (leftover header tokens): `to=to=functions.get_weather`",
        (
            f"<|channel|>commentary to=to=functions.get_weather <|constrain|>json<|message|>{ARGS}"
            "<|call|>",
            DONE,
        ),
        Outcome.REPAIRED,
        calls=(WEATHER,),
        recoveries=frozenset({R.HEADER_REPAIRED}),
        received=PARIS,
    ),
    Case(
        "missing_functions_prefix",
        "vLLM #22337 / #22578 (the model names the function without its namespace)",
        (f"<|channel|>commentary to=get_weather <|constrain|>json<|message|>{ARGS}<|call|>", DONE),
        Outcome.REPAIRED,
        calls=(WEATHER,),
        recoveries=frozenset({R.RECIPIENT_REPAIRED}),
        received=PARIS,
    ),
    Case(
        "json_without_recipient",
        "llama.cpp #27720 (header words without a recipient): `commentary json` ending in <|call|>",
        (f"<|channel|>commentary json<|message|>{ARGS}<|call|>", CALL, DONE),
        Outcome.TOLD,
        calls=(WEATHER,),
        corrected=True,
        recoveries=frozenset({R.CALL_WITHOUT_RECIPIENT}),
        received=PARIS,
    ),
    Case(
        "constrain_as_recipient",
        "openai/harmony #38 (header tokens out of place): `to=<|constrain|>json`",
        (f"<|channel|>commentary to=<|constrain|>json<|message|>{ARGS}<|call|>", CALL, DONE),
        Outcome.TOLD,
        calls=(WEATHER,),
        corrected=True,
        recoveries=frozenset({R.CALL_WITHOUT_RECIPIENT}),
        received=PARIS,
    ),
    Case(
        "unknown_tool_with_dash",
        "vLLM #51977: 'unexpected tokens remaining in message header: to=functions.web-browsing'",
        (
            f"<|channel|>commentary to=functions.web-browsing <|constrain|>json<|message|>{ARGS}"
            "<|call|>",
            CALL,
            DONE,
        ),
        Outcome.TOLD,
        calls=(WEATHER,),
        errors=(ToolErrorKind.UNKNOWN_TOOL,),
        recoveries=frozenset({R.UNKNOWN_RECIPIENT}),
    ),
    Case(
        "builtin_name_called_as_function",
        "odysseus #5877: gpt-oss treats a `python` function as its built-in and sends raw code",
        ("<|channel|>analysis to=functions.python code<|message|>print(1 + 1)<|call|>", DONE),
        Outcome.TOLD,
        errors=(ToolErrorKind.UNKNOWN_TOOL,),
        recoveries=frozenset({R.UNKNOWN_RECIPIENT}),
    ),
    # --- message bodies and terminators -----------------------------------------------------
    Case(
        "no_message_token_before_the_arguments",
        "openai/harmony PR #82: a stop token before the expected <|message|>",
        (
            f"<|channel|>commentary to=functions.get_weather <|constrain|>json{ARGS}<|call|>",
            DONE,
        ),
        Outcome.REPAIRED,
        calls=(WEATHER,),
        recoveries=frozenset({R.HEADER_REPAIRED}),
        received=PARIS,
    ),
    Case(
        "call_ended_with_return",
        "sglang PR #10576: gpt-oss tool calls ending with <|return|>",
        (
            f"<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{ARGS}"
            "<|return|>",
            DONE,
        ),
        Outcome.REPAIRED,
        calls=(WEATHER,),
        recoveries=frozenset({R.CALL_TERMINATOR}),
        received=PARIS,
    ),
    Case(
        "call_spelled_at_the_end",
        "vLLM #32587 (special tokens leak into responses): the call's <|call|> written as text",
        (
            [
                *real(
                    "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>"
                ),
                *spelled(f"{ARGS}<|call|>"),
            ],
            DONE,
        ),
        Outcome.REPAIRED,
        calls=(WEATHER,),
        recoveries=frozenset({R.SPELLED_SPECIAL_TOKEN}),
        received=PARIS,
    ),
    Case(
        "whole_call_spelled_as_text",
        "llama.cpp PR #15181 / mlxcel #654: harmony markup arriving as plain text",
        (
            spelled(
                f"<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{ARGS}",
                SpecialToken.CALL,
            ),
            DONE,
        ),
        Outcome.REPAIRED,
        calls=(WEATHER,),
        recoveries=frozenset({R.SPELLED_SPECIAL_TOKEN}),
        received=PARIS,
    ),
    Case(
        "trailing_commentary_after_call",
        "vLLM #22519 (comment: 'could be related to ignore_eos'), avalan PR #632: text after "
        "<|call|> when the server does not stop at stop tokens; the loop reads nothing after a "
        "stop token, so the overrun never reaches the parser",
        (f"{CALL}commentary", f"{DONE}<|end|>"),
        Outcome.CLEAN,
        calls=(WEATHER,),
        received=PARIS,
        ignore_stop=True,
    ),
    Case(
        "two_calls_in_one_generation",
        "vLLM #22403 ('Expected 2 output messages, but got 7'): the model goes on past "
        "<|call|>; the loop reads nothing after a stop token, so the second call never runs",
        (
            f"{CALL}<|start|>assistant<|channel|>commentary to=functions.get_weather "
            '<|constrain|>json<|message|>{"city": "Lyon"}<|call|>',
            DONE,
        ),
        Outcome.CLEAN,
        calls=(WEATHER,),
        received=PARIS,
        ignore_stop=True,
    ),
    Case(
        "impersonated_tool_result",
        "vLLM #22403 (extra messages): the model writes the tool's result itself",
        (
            "<|channel|>analysis<|message|>I know it.<|end|><|start|>functions.get_weather "
            'to=assistant<|channel|>commentary<|message|>{"temperature": 99}<|end|>',
            DONE,
        ),
        Outcome.REPAIRED,
        recoveries=frozenset({R.IMPERSONATED_TOOL}),
    ),
    Case(
        "impersonated_user",
        "tenstorrent/vllm #386 ('Unknown role'): the model writes a user message",
        ("<|start|>user<|message|>Thanks, that is all.<|end|>", DONE),
        Outcome.REPAIRED,
        recoveries=frozenset({R.IMPERSONATED_TOOL}),
    ),
    # --- arguments --------------------------------------------------------------------------
    Case(
        "json_with_trailing_brace",
        "ollama #12884: 'invalid character after top-level value'",
        (
            f"<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{ARGS}}}"
            "<|call|>",
            CALL,
            DONE,
        ),
        Outcome.TOLD,
        calls=(WEATHER,),
        errors=(ToolErrorKind.INVALID_ARGUMENTS,),
        received=PARIS,
    ),
    Case(
        "json_trailing_comma_and_single_quotes",
        "ollama #12884 (tool call JSON that fails to parse)",
        (
            "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>"
            "{'city': 'Paris',}<|call|>",
            CALL,
            DONE,
        ),
        Outcome.TOLD,
        calls=(WEATHER,),
        errors=(ToolErrorKind.INVALID_ARGUMENTS,),
        received=PARIS,
    ),
    Case(
        "arguments_cut_off_by_the_token_limit",
        "lmstudio-bug-tracker #942: 'Failed to parse tool call: Unexpected end of content'",
        (
            "<|channel|>commentary to=functions.configure <|constrain|>json<|message|>"
            + json.dumps({"settings": NESTED})
            + "<|call|>",
            DONE,
        ),
        Outcome.TOLD,
        errors=(ToolErrorKind.CUT_OFF,),
        recoveries=frozenset({R.TRUNCATED}),
        settings={"max_tokens": 40},
    ),
    Case(
        "wrong_argument_types",
        "vLLM #24076 / PR #25514 (arguments that do not match the schema reach the client)",
        (
            "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>"
            '{"city": ["Paris"], "unit": "kelvin"}<|call|>',
            CALL,
            DONE,
        ),
        Outcome.TOLD,
        calls=(WEATHER,),
        errors=(ToolErrorKind.INVALID_ARGUMENTS,),
        received=PARIS,
    ),
    Case(
        "browser_wrong_argument_types",
        "vLLM PR #28139 (browser calls on the analysis channel) with arguments of the wrong type",
        (
            '<|channel|>analysis to=browser.search code<|message|>{"query": 42, "topn": "five"}'
            "<|call|>",
            DONE,
        ),
        Outcome.TOLD,
        errors=(ToolErrorKind.INVALID_ARGUMENTS,),
    ),
    Case(
        "browser_function_that_does_not_exist",
        "vLLM PR #28139: built-in calls the model makes up (`browser.click`)",
        ('<|channel|>analysis to=browser.click code<|message|>{"id": 3}<|call|>', DONE),
        Outcome.TOLD,
        errors=(ToolErrorKind.TOOL_ERROR,),
    ),
    Case(
        "narrow_no_break_space_in_header",
        "U+202F in a header (gpt-oss writes it in numbers and French text)",
        (
            f"<|channel|>commentary to=functions.get_weather{NNBSP}<|constrain|>json<|message|>"
            f"{ARGS}<|call|>",
            DONE,
        ),
        Outcome.CLEAN,
        calls=(WEATHER,),
        received=PARIS,
    ),
    # --- limits -----------------------------------------------------------------------------
    Case(
        "unaddressed_calls_until_the_error_budget",
        "llama.cpp #27720 (garbled headers repeated): calls without a recipient, again and again",
        (f"<|channel|>commentary json<|message|>{ARGS}<|call|>",) * 3,
        Outcome.STOPPED,
        final=None,
        corrected=True,
        recoveries=frozenset({R.CALL_WITHOUT_RECIPIENT}),
        stop=StopReason.ERROR_BUDGET,
        settings={"max_model_errors": 2},
    ),
    Case(
        "garbage_until_max_turns",
        "vLLM PR #43408 (stray control tokens): nothing usable, generation after generation",
        ("<|end|><|call|>",) * 3,
        Outcome.STOPPED,
        final=None,
        recoveries=frozenset({R.STRAY_TOKEN}),
        stop=StopReason.MAX_TURNS,
        settings={"max_turns": 3},
    ),
    Case(
        "endless_analysis_until_the_token_budget",
        "llama.cpp #27720 (turns that never reach a final answer)",
        ("<|channel|>analysis<|message|>" + "hmm " * 30 + "<|end|>",) * 3,
        Outcome.STOPPED,
        final=None,
        recoveries=frozenset({R.TRUNCATED}),
        stop=StopReason.TOKEN_BUDGET,
        settings={"max_tokens": 20, "max_run_tokens": 50},
    ),
)

WELL_FORMED: tuple[Case, ...] = (
    Case(
        "empty_analysis",
        "harmony spec: an analysis message may be empty",
        (
            "<|channel|>analysis<|message|><|end|><|start|>assistant<|channel|>final<|message|>Sunny.<|return|>",
        ),
        Outcome.CLEAN,
        final="Sunny.",
    ),
    Case(
        "final_without_analysis",
        "harmony spec: at low reasoning the model may answer at once",
        ("<|channel|>final<|message|>Sunny.<|return|>",),
        Outcome.CLEAN,
        final="Sunny.",
    ),
    Case(
        "preamble_then_call",
        "harmony spec (preambles): a commentary message to the user, then the call",
        (
            "<|channel|>commentary<|message|>Let me check the forecast.<|end|><|start|>assistant"
            + CALL,
            DONE,
        ),
        Outcome.CLEAN,
        calls=(WEATHER,),
        received=PARIS,
    ),
    Case(
        "several_calls_in_one_turn",
        "harmony spec: calls, each followed by its result, before the answer",
        (
            "<|channel|>analysis<|message|>Two cities.<|end|><|start|>assistant" + CALL,
            '<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city": '
            '"Lyon", "unit": "fahrenheit"}<|call|>',
            "<|channel|>analysis to=python code<|message|>print(20 - 20)<|call|>",
            DONE,
        ),
        Outcome.CLEAN,
        calls=(WEATHER, WEATHER, "python"),
        received=(
            *PARIS,
            ("get_weather", {"city": "Lyon", "unit": "fahrenheit"}),
            ("python", "print(20 - 20)"),
        ),
    ),
    Case(
        "function_call_on_the_analysis_channel",
        "vLLM PR #28139 / vLLM #24076 -> PR #25514: calls on the analysis channel are calls",
        (
            f"<|channel|>analysis to=functions.get_weather <|constrain|>json<|message|>{ARGS}<|call|>",
            DONE,
        ),
        Outcome.CLEAN,
        calls=(WEATHER,),
        received=PARIS,
    ),
    Case(
        "python_call_on_the_analysis_channel",
        "vLLM PR #28139: the built-in python tool called on analysis, as trained",
        ("<|channel|>analysis to=python code<|message|>import math\nprint(math.pi)<|call|>", DONE),
        Outcome.CLEAN,
        calls=("python",),
        received=(("python", "import math\nprint(math.pi)"),),
    ),
    Case(
        "very_long_escaped_arguments",
        "ollama #12884: multi-line file content with quotes and backslashes in a tool call",
        (
            "<|channel|>commentary to=functions.write_file <|constrain|>json<|message|>"
            + json.dumps({"path": "src/gen.py", "content": LONG_CODE})
            + "<|call|>",
            DONE,
        ),
        Outcome.CLEAN,
        calls=("functions.write_file",),
        received=(("write_file", {"path": "src/gen.py", "content": LONG_CODE}),),
    ),
    Case(
        "nested_json_arguments",
        "lmstudio-bug-tracker #942: deeply nested JSON arguments",
        (
            "<|channel|>commentary to=functions.configure <|constrain|>json<|message|>"
            + json.dumps({"settings": NESTED})
            + "<|call|>",
            DONE,
        ),
        Outcome.CLEAN,
        calls=("functions.configure",),
        received=(("configure", NESTED),),
    ),
    Case(
        "unicode_and_emoji_arguments",
        "U+202F and emoji inside argument strings arrive unchanged",
        (
            "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>"
            + json.dumps({"city": f"Saint-Étienne{NNBSP}🌦️ 東京"}, ensure_ascii=False)
            + "<|call|>",
            "<|channel|>final<|message|>Il fait 20\u202f°C ☀️.<|return|>",
        ),
        Outcome.CLEAN,
        final="Il fait 20\u202f°C ☀️.",
        calls=(WEATHER,),
        received=(("get_weather", {"city": f"Saint-Étienne{NNBSP}🌦️ 東京", "unit": "celsius"}),),
    ),
    Case(
        "escaped_unicode_arguments",
        "arguments with \\u escapes (json.dumps with ensure_ascii) decode to the same text",
        (
            "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>"
            + json.dumps({"city": f"Zürich{NNBSP}🙂"})
            + "<|call|>",
            DONE,
        ),
        Outcome.CLEAN,
        calls=(WEATHER,),
        received=(("get_weather", {"city": f"Zürich{NNBSP}🙂", "unit": "celsius"}),),
    ),
    Case(
        "arguments_in_a_code_fence",
        "ollama #12884 (models wrapping JSON): a fenced JSON body",
        (
            "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>"
            f"```json\n{ARGS}\n```<|call|>",
            DONE,
        ),
        Outcome.CLEAN,
        calls=(WEATHER,),
        received=PARIS,
    ),
)

CASES: tuple[Case, ...] = MALFORMED + WELL_FORMED
