"""Malformed model output, as real gpt-oss produces it: never a crashed run."""

from __future__ import annotations

from harmony_agent import RecoveryKind, RunResult, StopReason, ToolErrorKind
from harmony_agent._harmony import SpecialToken, decode, encode_completion, encode_text
from harmony_agent.engines import ScriptedEngine

from tests.fakes import make_agent

FINAL = "<|channel|>final<|message|>Done.<|return|>"
ARGS = '{"city": "Paris"}'
CANONICAL_CALL = f"<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{ARGS}<|call|>"
RESULT = (
    "<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>"
    '{"city":"Paris","temperature":20,"unit":"celsius"}<|end|>'
)


def run(script: list[str | list[int]], **settings: object) -> tuple[RunResult, ScriptedEngine]:
    agent, engine = make_agent(script, **settings)
    result = agent.run("Weather in Paris?")
    engine.assert_consumed()
    return result, engine


def kinds(result: RunResult) -> list[RecoveryKind]:
    return [r.kind for r in result.recoveries]


def transcript_after_user(engine: ScriptedEngine, index: int) -> str:
    return decode(engine.prompts[index]).split("Weather in Paris?<|end|>")[1]


def test_special_tokens_spelled_as_text_in_a_call() -> None:
    spelled = encode_text(
        f"<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{ARGS}"
    )
    result, engine = run([[*spelled, SpecialToken.CALL.value], FINAL])
    assert result.tool_calls[0].call.recipient == "functions.get_weather"
    assert result.tool_calls[0].error is None
    assert RecoveryKind.SPELLED_SPECIAL_TOKEN in kinds(result)
    # the transcript holds the repaired call with REAL special tokens
    canonical = encode_completion(CANONICAL_CALL + RESULT + "<|start|>assistant")
    assert engine.prompts[1][-len(canonical) :] == canonical
    assert result.final_text == "Done."


def test_message_boundary_spelled_inside_content() -> None:
    text = encode_text(
        "<|channel|>analysis<|message|>Think.<|end|><|start|>assistant<|channel|>final<|message|>Answer."
    )
    result, _ = run([[*text, SpecialToken.RETURN.value]])
    assert result.final_text == "Answer."
    assert [(m.channel, m.text) for m in result.messages[1:]] == [
        ("analysis", "Think."),
        ("final", "Answer."),
    ]
    assert RecoveryKind.SPELLED_SPECIAL_TOKEN in kinds(result)


def test_leftover_words_in_a_header() -> None:
    result, engine = run(
        [
            f"<|channel|>commentary to=functions.get_weather json stuff<|message|>{ARGS}<|call|>",
            FINAL,
        ]
    )
    assert result.tool_calls[0].error is None
    assert result.recoveries[0].kind is RecoveryKind.HEADER_REPAIRED
    assert "stuff" in result.recoveries[0].detail
    assert transcript_after_user(engine, 1).startswith(
        "<|start|>assistant<|channel|>commentary to=functions.get_weather json<|message|>"
    )


def test_channel_text_glued_onto_the_tool_name() -> None:
    result, _ = run(
        [
            f"<|channel|>commentary to=get_weather<|channel|>commentary <|constrain|>json<|message|>{ARGS}<|call|>",
            FINAL,
        ]
    )
    assert result.tool_calls[0].call.recipient == "get_weather"
    assert result.tool_calls[0].error is None
    assert RecoveryKind.RECIPIENT_REPAIRED in kinds(result)
    assert result.messages[2].author == "functions.get_weather"


def test_channel_text_glued_as_characters() -> None:
    glued = encode_text(" to=functions.get_weather<|channel|>commentary json")
    call = [*glued, SpecialToken.MESSAGE.value, *encode_text(ARGS), SpecialToken.CALL.value]
    result, _ = run([call, FINAL])
    assert result.tool_calls[0].call.recipient == "functions.get_weather"
    assert result.tool_calls[0].call.channel == "commentary"
    assert RecoveryKind.SPELLED_SPECIAL_TOKEN in kinds(result)


def test_tool_call_on_the_analysis_channel() -> None:
    result, engine = run(
        [
            f"<|channel|>analysis to=functions.get_weather <|constrain|>json<|message|>{ARGS}<|call|>",
            FINAL,
        ]
    )
    assert result.tool_calls[0].error is None
    assert result.recoveries == ()
    assert "<|start|>functions.get_weather to=assistant<|channel|>analysis<|message|>" in decode(
        engine.prompts[1]
    )


def test_recipient_before_the_channel_is_kept_verbatim() -> None:
    call = (
        f" to=functions.get_weather<|channel|>commentary <|constrain|>json<|message|>{ARGS}<|call|>"
    )
    result, engine = run([call, FINAL])
    assert result.tool_calls[0].error is None
    assert result.recoveries == ()
    assert transcript_after_user(engine, 1).startswith("<|start|>assistant" + call)


def test_missing_constrain() -> None:
    call = f"<|channel|>commentary to=functions.get_weather<|message|>{ARGS}<|call|>"
    result, engine = run([call, FINAL])
    assert result.tool_calls[0].error is None
    assert result.recoveries == ()
    assert transcript_after_user(engine, 1).startswith("<|start|>assistant" + call)


def test_analysis_cut_off_at_the_token_limit_goes_on() -> None:
    long_analysis = "<|channel|>analysis<|message|>" + "thinking " * 40 + "<|end|>"
    result, engine = run([long_analysis, FINAL], max_tokens=12)
    assert result.stop_reason is StopReason.FINAL
    assert RecoveryKind.TRUNCATED in kinds(result)
    assert transcript_after_user(engine, 1).endswith("<|end|><|start|>assistant")


def test_call_cut_off_at_the_token_limit_is_not_run() -> None:
    long_call = (
        "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>"
        + '{"city": "'
        + "x" * 200
    )
    result, engine = run([long_call, FINAL], max_tokens=20)
    assert result.tool_calls[0].error is ToolErrorKind.CUT_OFF
    assert "cut off" in result.tool_calls[0].output
    assert decode(engine.prompts[1]).endswith(
        "<|call|><|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>"
        + result.tool_calls[0].output
        + "<|end|><|start|>assistant"
    )


def test_final_answer_cut_off_stops_with_max_tokens() -> None:
    result, _ = run(["<|channel|>final<|message|>" + "word " * 50 + "<|return|>"], max_tokens=10)
    assert result.stop_reason is StopReason.MAX_TOKENS
    assert result.final_text.startswith("word word")
    assert RecoveryKind.TRUNCATED in kinds(result)


def test_end_instead_of_call_after_a_call_and_a_hallucinated_result() -> None:
    hallucinated = (
        f"<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{ARGS}<|end|>"
        '<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>{"temperature": 99}<|end|>'
        "<|start|>assistant<|channel|>final<|message|>It is 99.<|return|>"
    )
    result, engine = run([hallucinated, "<|channel|>final<|message|>It is 20.<|return|>"])
    assert kinds(result) == [RecoveryKind.CALL_TERMINATOR, RecoveryKind.DISCARDED_AFTER_ACTION]
    assert "functions.get_weather" in result.recoveries[1].detail
    assert result.tool_calls[0].output == '{"city":"Paris","temperature":20,"unit":"celsius"}'
    assert transcript_after_user(engine, 1) == CANONICAL_CALL + RESULT + "<|start|>assistant"
    assert result.final_text == "It is 20."


def test_empty_final_asks_again() -> None:
    result, engine = run(
        ["<|channel|>final<|message|><|return|>", "<|channel|>final<|message|>Hi.<|return|>"]
    )
    assert result.final_text == "Hi."
    assert RecoveryKind.EMPTY_FINAL in kinds(result)
    assert engine.prompts[0] == engine.prompts[1]


def test_empty_final_forever_ends_with_the_error_budget() -> None:
    result, _ = run(["<|channel|>final<|message|> <|return|>"] * 3, max_model_errors=2)
    assert result.stop_reason is StopReason.ERROR_BUDGET
    assert result.final_text == ""


def test_unknown_recipient_tells_the_model() -> None:
    result, engine = run(
        [
            f"<|channel|>commentary to=functions.get_wether <|constrain|>json<|message|>{ARGS}<|call|>",
            FINAL,
        ]
    )
    outcome = result.tool_calls[0]
    assert outcome.error is ToolErrorKind.UNKNOWN_TOOL
    assert outcome.output == (
        "Error: there is no tool named 'functions.get_wether'. Available tools: functions.get_weather."
    )
    assert (
        "<|start|>functions.get_wether to=assistant<|channel|>commentary<|message|>Error:"
        in decode(engine.prompts[1])
    )
    assert RecoveryKind.UNKNOWN_RECIPIENT in kinds(result)
    assert result.final_text == "Done."


def test_answer_with_return_on_the_commentary_channel() -> None:
    result, _ = run(["<|channel|>commentary<|message|>It is sunny.<|return|>"])
    assert result.final_text == "It is sunny."
    assert result.messages[-1].channel == "final"
    assert RecoveryKind.ANSWER_CHANNEL in kinds(result)


def test_text_without_any_header() -> None:
    result, _ = run(["It is sunny in Paris.<|return|>"])
    assert result.final_text == "It is sunny in Paris."
    assert RecoveryKind.MISSING_HEADER in kinds(result)


def test_channel_token_inside_content_starts_a_new_message() -> None:
    result, _ = run(
        ["<|channel|>analysis<|message|>Think.<|channel|>final<|message|>Sunny.<|return|>"]
    )
    assert result.final_text == "Sunny."
    assert [m.channel for m in result.messages[1:]] == ["analysis", "final"]


def test_stray_special_tokens_are_ignored() -> None:
    result, _ = run(["<|channel|>final<|message|>Sun<|reserved_200017|>ny.<|return|>"])
    assert result.final_text == "Sunny."
    assert RecoveryKind.STRAY_TOKEN in kinds(result)


def test_call_without_recipient_generates_again() -> None:
    result, _ = run([f"<|channel|>commentary<|message|>{ARGS}<|call|>", FINAL])
    assert RecoveryKind.CALL_WITHOUT_RECIPIENT in kinds(result)
    assert result.final_text == "Done."


def test_invalid_json_arguments_are_answered() -> None:
    result, _ = run(
        [
            '<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city": Paris}<|call|>',
            FINAL,
        ]
    )
    assert result.tool_calls[0].error is ToolErrorKind.INVALID_ARGUMENTS
    assert result.tool_calls[0].output.startswith("Error: the arguments are not valid JSON")
