"""What one generation asks the loop to do next: answer, call a tool, or generate again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from harmony_agent import _harmony
from harmony_agent._harmony import SpecialToken
from harmony_agent._messages import Recovery, RecoveryKind
from harmony_agent._parser import ParsedMessage

__all__ = [
    "Answer",
    "AnswerUnderSchema",
    "CallTool",
    "Continue",
    "CutOffAnswer",
    "Decision",
    "ModelError",
    "Step",
    "UnaddressedCall",
    "decide",
]


@dataclass(frozen=True)
class Answer:
    """The model answered (on the `final` channel, or with `<|return|>`)."""

    message: ParsedMessage


@dataclass(frozen=True)
class CutOffAnswer:
    """The model's answer was cut off at the token limit."""

    message: ParsedMessage


@dataclass(frozen=True)
class AnswerUnderSchema:
    """The model answered off the `final` channel while its answer must be written under the
    output's JSON Schema: the text it wrote is kept as reasoning, and the answer is generated
    again from the final channel's header, under the schema.
    """


@dataclass(frozen=True)
class CallTool:
    """The model called a tool."""

    message: ParsedMessage


@dataclass(frozen=True)
class Continue:
    """No action yet: the model is mid-thought (its reasoning may have been cut off)."""


@dataclass(frozen=True)
class ModelError:
    """The generation was unusable (an empty answer, a message written as a tool or the
    user): it counts as a model error, and the model generates again.
    """


@dataclass(frozen=True)
class UnaddressedCall:
    """The model ended a message as a call without naming a tool: a model error, and the
    model is told which tools there are.
    """


Step = (
    Answer | AnswerUnderSchema | CutOffAnswer | CallTool | Continue | ModelError | UnaddressedCall
)


@dataclass(frozen=True)
class Decision:
    """The messages to keep in the transcript, the next step, and the repairs made."""

    kept: tuple[ParsedMessage, ...]
    step: Step
    recoveries: tuple[Recovery, ...] = ()


def decide(messages: Sequence[ParsedMessage], *, constrained: bool = False) -> Decision:
    """Reads a generation's messages up to its first action (a call or an answer).

    What follows the action is dropped, and so is a message written as a tool or the user
    along with everything after it: the model was trained to stop at its first action.
    `constrained`: answers must be written on the final channel under the output's schema, so
    one ended with `<|return|>` on another channel is not taken (`AnswerUnderSchema`).
    """
    kept: list[ParsedMessage] = []
    recoveries: list[Recovery] = []
    step: Step = Continue()
    for index, parsed in enumerate(messages):
        message = parsed.message
        if message.author != "assistant":
            recoveries.append(
                Recovery(RecoveryKind.IMPERSONATED_TOOL, f"a message written as {message.author!r}")
            )
            step = ModelError()
            break
        if message.recipient:
            kept.append(parsed)
            step = CallTool(parsed)
        elif (
            constrained and message.channel != "final" and parsed.terminator is SpecialToken.RETURN
        ):
            step = AnswerUnderSchema()
            kept.extend([_as_reasoning(parsed)] if message.text.strip() else [])
            detail = f"an answer on {message.channel!r}, written again under the schema"
            recoveries.append(Recovery(RecoveryKind.ANSWER_CHANNEL, detail))
        elif message.channel == "final" or parsed.terminator is SpecialToken.RETURN:
            step, answer, found = _answer(parsed)
            kept.extend([answer] if answer else [])
            recoveries.extend(found)
        else:
            kept.append(parsed)
            if parsed.terminator is SpecialToken.CALL:
                step = UnaddressedCall()
            continue
        dropped = messages[index + 1 :]
        if any(m.message.text.strip() for m in dropped):
            authors = sorted({m.message.author for m in dropped})
            detail = f"{len(dropped)} message(s) by {', '.join(authors)} after a call or an answer"
            recoveries.append(Recovery(RecoveryKind.DISCARDED_AFTER_ACTION, detail))
        break
    return Decision(tuple(kept), step, tuple(recoveries))


def _answer(parsed: ParsedMessage) -> tuple[Step, ParsedMessage | None, list[Recovery]]:
    """An answer (cut off or whole), re-rendered on the final channel if it came on another
    one; an empty answer is dropped so that the model is asked again.
    """
    message = parsed.message
    if not message.text.strip():
        return ModelError(), None, [Recovery(RecoveryKind.EMPTY_FINAL, "")]
    if message.channel == "final":
        return _answered(parsed), parsed, []
    recovery = Recovery(RecoveryKind.ANSWER_CHANNEL, f"an answer on {message.channel!r}")
    final = replace(
        parsed,
        message=replace(message, channel="final"),
        tokens=tuple(
            _harmony.render_assistant(
                channel="final",
                recipient=None,
                content_type=message.content_type,
                text=message.text,
            )
        ),
        repaired=True,
    )
    return _answered(final), final, [recovery]


def _as_reasoning(parsed: ParsedMessage) -> ParsedMessage:
    """An answer off the final channel re-rendered as the reasoning it was written as (ended
    by `<|end|>`; `analysis` when it named no channel).
    """
    message = parsed.message
    channel = message.channel or "analysis"
    return replace(
        parsed,
        message=replace(message, channel=channel),
        tokens=tuple(
            _harmony.render_assistant(
                channel=channel,
                recipient=None,
                content_type=message.content_type,
                text=message.text,
            )
        ),
        repaired=True,
    )


def _answered(answer: ParsedMessage) -> Answer | CutOffAnswer:
    return CutOffAnswer(answer) if answer.truncated else Answer(answer)
