"""One run of an agent: the loop from a user message to a final answer or a limit.

prompt tokens -> engine -> parser -> step -> router -> tool result tokens -> transcript -> ...
All per-run state lives here; the `Agent` stays immutable configuration.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, assert_never

from harmony_agent import _harmony
from harmony_agent._errors import ConfigError, EngineError, OutputValidationError
from harmony_agent._events import (
    ContextTrimmed,
    Event,
    GenerationFinished,
    MessageDone,
    Recovered,
    RunFinished,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
)
from harmony_agent._history import History
from harmony_agent._messages import Message, Recovery, RecoveryKind
from harmony_agent._output import InvalidOutput
from harmony_agent._parser import CompletionParser, ParsedMessage
from harmony_agent._result import (
    CallOutput,
    RunResult,
    StopReason,
    ToolCall,
    ToolErrorKind,
    ToolResult,
    Usage,
)
from harmony_agent._router import ClientRoute, FunctionRoute, Router
from harmony_agent._step import (
    Answer,
    AnswerUnderSchema,
    CallTool,
    Continue,
    CutOffAnswer,
    Decision,
    ModelError,
    UnaddressedCall,
    decide,
)
from harmony_agent._transcript import Transcript
from harmony_agent.engines import FinishReason, SamplingParams
from harmony_agent.engines._checked import checked
from harmony_agent.tools import _feedback

if TYPE_CHECKING:
    from harmony_agent._agent import Agent

__all__ = ["ANY_TOOL", "AnyTool", "Run"]

Emit = Callable[[Event], None]


class AnyTool(enum.Enum):
    """What `tool_choice="required"` asks the model to call before answering: any tool."""

    ANY_TOOL = "any tool"


ANY_TOOL = AnyTool.ANY_TOOL

_FINAL_HEADER = tuple(_harmony.encode_completion("<|channel|>final<|message|>"))
"""What follows `<|start|>assistant` where a final answer's text begins."""


@dataclass
class _Stream:
    """What one engine request of a generation gave: the tokens fed to the parser, how many
    the engine generated (more, when the rest of a chunk was dropped), and why it ended:
    `finish`, or `at_answer` when it was stopped where a final answer begins.
    """

    prompt_tokens: int
    kept: list[int] = field(default_factory=list)
    generated: int = 0
    cached: int = 0
    finish: FinishReason | None = None
    at_answer: bool = False


class Run:
    """The state of one run: its transcript, tool sessions, usage and what went wrong."""

    def __init__(
        self, agent: Agent, prompt: str | CallOutput, history: History, emit: Emit
    ) -> None:
        self._agent = agent
        self._emit = emit
        shown = agent.tools_shown
        self._router = Router(
            agent.functions if shown else (),
            agent.builtins if shown else (),
            timeout=agent.tool_timeout,
            client=agent.client_functions if shown else (),
        )
        self._opening = self._opening_message(prompt, history)
        # A call's output continues its turn: the turn's reasoning stays.
        turn = history if isinstance(prompt, CallOutput) else history.for_next_turn()
        self._transcript = Transcript(agent.render_preamble(), turn)
        self._window = agent.context_window or agent.engine.max_model_len
        self._usage = Usage()
        self._tool_results: list[ToolResult] = []
        self._recoveries: list[Recovery] = []
        self._model_errors = 0
        self._pending_call = agent.required_call
        self._output_retries = 0
        self._answer_next = False
        self._output: Any = None
        self._output_failure: str | None = None
        self._final_text = ""
        self._client_call: ToolCall | None = None
        self._cancel_requested = False
        self._scope: asyncio.Timeout | None = None

    def cancel(self) -> None:
        """Stops the run at its next await; it ends with `StopReason.CANCELLED`."""
        self._cancel_requested = True
        if self._scope is not None:
            self._scope.reschedule(asyncio.get_running_loop().time())

    async def execute(self) -> RunResult:
        """Runs the loop to its end and returns the result (also emitted as `RunFinished`); an
        answer that never matched the output type raises `OutputValidationError` instead.
        """
        try:
            async with asyncio.timeout(self._agent.timeout) as scope:
                self._scope = scope
                if self._cancel_requested:
                    self.cancel()
                self._append(*self._opening)
                reason = await self._loop()
        except TimeoutError:
            if self._scope is None or not self._scope.expired():
                raise
            reason = StopReason.CANCELLED if self._cancel_requested else StopReason.TIMEOUT
        finally:
            citations = self._router.cite(self._final_text)
            await self._router.aclose()
        result = RunResult(
            final_text=self._final_text,
            output=self._output,
            stop_reason=reason,
            messages=self._transcript.run_messages,
            tool_calls=tuple(self._tool_results),
            usage=self._usage,
            recoveries=tuple(self._recoveries),
            history=self._transcript.history(),
            citations=citations,
            pending_call=self._client_call,
        )
        if self._output_failure is not None:
            raise OutputValidationError(self._final_text, self._output_failure, result)
        self._emit(RunFinished(result))
        return result

    async def _loop(self) -> StopReason:
        agent = self._agent
        while True:
            if self._usage.turns >= agent.max_turns:
                return StopReason.MAX_TURNS
            budget, limit = self._generation_budget()
            if budget <= 0:
                return limit
            decision, finish = await self._generate(budget)
            for parsed in decision.kept:
                self._append(parsed.message, parsed.tokens)
            match decision.step:
                case CutOffAnswer(message=answer):
                    self._final_text = self._output = answer.message.text
                    return limit
                case Answer(message=answer):
                    if self._accept(answer.message.text):
                        return StopReason.FINAL
                case AnswerUnderSchema():
                    self._answer_next = not self._refused_before_required_call()
                case CallTool(message=call):
                    self._client_call = await self._call(call)
                    if self._client_call is not None:
                        return StopReason.CLIENT_CALL
                case UnaddressedCall():
                    self._model_errors += 1
                    self._correct(_feedback.unaddressed_call(self._router.recipients))
                case ModelError():
                    self._model_errors += 1
                case Continue():
                    if finish is FinishReason.LENGTH and limit is not StopReason.MAX_TOKENS:
                        return limit
                case unknown:
                    assert_never(unknown)
            if self._model_errors > agent.max_model_errors:
                return StopReason.ERROR_BUDGET

    def _opening_message(
        self, prompt: str | CallOutput, history: History
    ) -> tuple[Message, list[int]]:
        """The message the run starts with: the user's prompt, or the output of the client
        function call `history` ends with (else `ConfigError`).
        """
        if isinstance(prompt, str):
            return Message("user", prompt), _harmony.render_user(prompt)
        call = history.entries[-1].message if history.entries else None
        route = None if call is None else self._router.resolve(call.recipient or "")
        if call is None or call.author != "assistant" or not isinstance(route, ClientRoute):
            raise ConfigError(
                "a CallOutput continues a run that stopped at a client function call: "
                "pass that run's result as the history"
            )
        return self._tool_result(route.recipient, call.channel, prompt.output)

    def _tool_result(
        self, author: str, channel: str | None, output: str
    ) -> tuple[Message, list[int]]:
        """A tool's result message and its tokens, the output cut to `max_tool_output_tokens`."""
        clipped, removed = _harmony.clip_text(output, self._agent.max_tool_output_tokens)
        if removed:
            self._emit(ContextTrimmed("tool_output_truncated", removed, f"output of {author}"))
        tokens = _harmony.render_tool_result(author, channel, clipped)
        return Message(author, clipped, channel, "assistant"), tokens

    def _generation_budget(self) -> tuple[int, StopReason]:
        """How many tokens the next generation may have, and which limit sets that number."""
        agent = self._agent
        budget, limit = agent.max_tokens, StopReason.MAX_TOKENS
        if agent.max_run_tokens is not None:
            left = agent.max_run_tokens - self._usage.completion_tokens
            if left < budget:
                budget, limit = left, StopReason.TOKEN_BUDGET
        room = self._context_room()
        if room is not None and room < budget:
            budget, limit = room, StopReason.CONTEXT_FULL
        return budget, limit

    def _context_room(self) -> int | None:
        """Tokens left in the context window, eliding older tool results while fewer than the
        reserve are left; 0 when even that is not enough (None: no known window).
        """
        if self._window is None:
            return None
        wanted = min(self._agent.max_tokens, self._agent.reserve_tokens)
        header = len(_harmony.ASSISTANT_HEADER)
        while (room := self._window - len(self._transcript) - header) < wanted:
            saved = self._transcript.elide_oldest_tool_result(
                lambda message, tokens: _feedback.result_elided(message.author, tokens)
            )
            if not saved:
                return 0
            self._emit(ContextTrimmed("tool_result_elided", saved, f"room left: {room} tokens"))
        return room

    def _accept(self, text: str) -> bool:
        """Takes a final answer, or sends it back with what is wrong; True when accepted."""
        if self._refused_before_required_call():
            return False
        self._final_text = text
        output_format = self._agent.output_format
        if output_format is None:
            self._output = text
            return True
        try:
            self._output = output_format.parse(text)
        except InvalidOutput as error:
            if self._output_retries >= self._agent.max_output_retries:
                self._output_failure = str(error)
                return True
            self._output_retries += 1
            name = output_format.response_format.name
            self._correct(_feedback.invalid_answer(str(error), name))
            return False
        return True

    def _refused_before_required_call(self) -> bool:
        """Tells the model that it answered before making the call it must make, if it did."""
        if self._pending_call is None:
            return False
        what = "a tool" if self._pending_call is ANY_TOOL else self._pending_call
        self._correct(_feedback.answer_before_required_call(what))
        self._model_errors += 1
        return True

    def _correct(self, text: str) -> None:
        """Tells the model what to fix, as a user message."""
        self._append(Message("user", text), _harmony.render_user(text))

    async def _generate(self, max_tokens: int) -> tuple[Decision, FinishReason | None]:
        """Runs one generation; returns what to do next and why the generation ended.

        With `constrain_output`, a final answer is generated by a second request that goes on
        from its header under the output's JSON Schema; after an answer off the final channel
        the generation starts at that header.
        """
        parser = CompletionParser()
        agent = self._agent
        output_format = agent.output_format if agent.constrain_output else None
        with self._transcript.prompt() as prompt:
            if self._answer_next:
                self._answer_next = False
                streams = [_Stream(prompt_tokens=0, at_answer=True)]
                for token in _FINAL_HEADER:
                    streams[0].kept.append(token)
                    parser.feed(token)
            else:
                streams = [
                    await self._stream(
                        prompt, max_tokens, agent.sampling, parser, until_answer=bool(output_format)
                    )
                ]
            if output_format is not None and streams[0].at_answer:
                continued = [*prompt, *streams[0].kept]
                schema = output_format.response_format.schema
                streams.append(
                    await self._stream(
                        continued,
                        max_tokens - len(streams[0].kept),
                        replace(agent.sampling, json_schema=schema),
                        parser,
                        until_answer=False,
                    )
                )
        finish = streams[-1].finish
        if finish is FinishReason.ABORT:
            raise EngineError("the engine aborted the generation")
        parser.finish(truncated=finish is FinishReason.LENGTH)
        usage = self._usage
        generated = sum(s.generated for s in streams)
        self._usage = replace(
            usage,
            prompt_tokens=usage.prompt_tokens + sum(s.prompt_tokens for s in streams),
            completion_tokens=usage.completion_tokens + generated,
            cached_prompt_tokens=usage.cached_prompt_tokens + sum(s.cached for s in streams),
            turns=usage.turns + 1,
        )
        decision = decide(parser.messages, constrained=output_format is not None)
        self._recover([*parser.recoveries, *decision.recoveries])
        self._emit(GenerationFinished(finish, generated, self._usage))
        return decision, finish

    async def _stream(
        self,
        prompt: list[int],
        max_tokens: int,
        sampling: SamplingParams,
        parser: CompletionParser,
        *,
        until_answer: bool,
    ) -> _Stream:
        """Feeds the engine's tokens after `prompt` to `parser`. `until_answer`: stops (and
        aborts the request) where a final answer's text would begin, and says so in `at_answer`.
        """
        if max_tokens <= 0:
            return _Stream(prompt_tokens=0, finish=FinishReason.LENGTH)
        result = _Stream(prompt_tokens=len(prompt))
        stream = checked(
            self._agent.engine.generate(
                prompt,
                stop_token_ids=_harmony.STOP_TOKENS,
                max_tokens=max_tokens,
                sampling=sampling,
            ),
            max_tokens=max_tokens,
            stop_token_ids=_harmony.STOP_TOKENS,
        )
        async with aclosing(stream):
            async for chunk in stream:
                result.generated += len(chunk.token_ids)
                for token in chunk.token_ids:
                    result.kept.append(token)
                    delta = parser.feed(token)
                    if delta is not None:
                        self._emit(TextDelta(delta.text, delta.channel, delta.recipient))
                    if until_answer and parser.at_final_answer:
                        result.at_answer = True
                        return result
                if chunk.finish_reason is not None:
                    result.finish = chunk.finish_reason
                    result.cached = chunk.cached_prompt_tokens or 0
        return result

    async def _call(self, parsed: ParsedMessage) -> ToolCall | None:
        """Runs a tool call and appends its result, which the model reads next; a call to a
        client function is not run but returned, for the run to stop at.
        """
        message = parsed.message
        recipient = message.recipient or ""
        call = ToolCall(
            id=f"call_{len(self._tool_results) + 1}",
            recipient=recipient,
            arguments=message.text,
            channel=message.channel,
            content_type=message.content_type,
        )
        self._emit(ToolCallStarted(call))
        route = self._router.resolve(recipient)
        author = recipient if route is None else route.recipient
        if parsed.truncated:
            result = ToolResult(call, _feedback.call_cut_off(), ToolErrorKind.CUT_OFF)
        elif route is None:
            self._recover([Recovery(RecoveryKind.UNKNOWN_RECIPIENT, recipient)])
            result = self._router.unknown(call)
        elif isinstance(self._pending_call, str) and self._pending_call != author:
            text = _feedback.required_call_first(self._pending_call)
            result = ToolResult(call, text, ToolErrorKind.NOT_ALLOWED)
        elif isinstance(route, ClientRoute):
            self._recover_route(recipient, route.repaired_from, author)
            self._pending_call = None
            return replace(call, recipient=author)
        else:
            if isinstance(route, FunctionRoute):
                self._recover_route(recipient, route.repaired_from, author)
            result = await self._router.call(route, call)
            if result.error is None:
                self._pending_call = None
        result_message, tokens = self._tool_result(author, message.channel, result.output)
        result = replace(result, output=result_message.text)
        self._append(result_message, tokens)
        self._tool_results.append(result)
        self._usage = replace(self._usage, tool_calls=self._usage.tool_calls + 1)
        if result.error is not None:
            self._model_errors += 1
        self._emit(ToolCallFinished(result))
        return None

    def _recover_route(self, recipient: str, repaired_from: str | None, author: str) -> None:
        """Records that a call's recipient was repaired to `author`, if it was."""
        if repaired_from is not None:
            self._recover([Recovery(RecoveryKind.RECIPIENT_REPAIRED, f"{recipient} -> {author}")])

    def _append(self, message: Message, tokens: Sequence[int]) -> None:
        self._transcript.append(message, tokens)
        self._emit(MessageDone(message))

    def _recover(self, recoveries: Sequence[Recovery]) -> None:
        for recovery in recoveries:
            self._recoveries.append(recovery)
            self._emit(Recovered(recovery))
