"""One run of an agent: the loop from a user message to a final answer or a limit.

prompt tokens -> engine -> parser -> step -> router -> tool result tokens -> transcript -> ...
All per-run state lives here; the `Agent` stays immutable configuration.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import aclosing
from dataclasses import replace
from typing import TYPE_CHECKING

from harmony_agent import _harmony
from harmony_agent._errors import EngineError
from harmony_agent._events import (
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
from harmony_agent._parser import CompletionParser, ParsedMessage
from harmony_agent._result import (
    RunResult,
    StopReason,
    ToolCall,
    ToolErrorKind,
    ToolResult,
    Usage,
)
from harmony_agent._router import FunctionRoute, Router
from harmony_agent._step import Answer, CallTool, Decision, GenerateAgain, decide
from harmony_agent._transcript import Transcript
from harmony_agent.engines import FinishReason

if TYPE_CHECKING:
    from harmony_agent._agent import Agent

__all__ = ["Run"]

Emit = Callable[[Event], None]
_CUT_OFF = "Error: the call was cut off at the token limit and did not run. Send a shorter one."


class Run:
    """The state of one run: its transcript, tool sessions, usage and what went wrong."""

    def __init__(self, agent: Agent, prompt: str, history: History, emit: Emit) -> None:
        self._agent = agent
        self._emit = emit
        self._transcript = Transcript(agent.render_preamble(), history.for_next_turn())
        self._router = Router(agent.functions, agent.builtins, timeout=agent.tool_timeout)
        self._prompt = prompt
        self._usage = Usage()
        self._tool_results: list[ToolResult] = []
        self._recoveries: list[Recovery] = []
        self._model_errors = 0
        self._final_text = ""
        self._cancel_requested = False
        self._scope: asyncio.Timeout | None = None

    def cancel(self) -> None:
        """Stops the run at its next await; it ends with `StopReason.CANCELLED`."""
        self._cancel_requested = True
        if self._scope is not None:
            self._scope.reschedule(asyncio.get_running_loop().time())

    async def execute(self) -> RunResult:
        """Runs the loop to its end and returns the result (also emitted as `RunFinished`)."""
        try:
            async with asyncio.timeout(self._agent.timeout) as scope:
                self._scope = scope
                if self._cancel_requested:
                    self.cancel()
                self._append(Message("user", self._prompt), _harmony.render_user(self._prompt))
                reason = await self._loop()
        except TimeoutError:
            if self._scope is None or not self._scope.expired():
                raise
            reason = StopReason.CANCELLED if self._cancel_requested else StopReason.TIMEOUT
        finally:
            await self._router.aclose()
        result = RunResult(
            final_text=self._final_text,
            stop_reason=reason,
            messages=self._transcript.run_messages,
            tool_calls=tuple(self._tool_results),
            usage=self._usage,
            recoveries=tuple(self._recoveries),
            history=self._transcript.history(),
        )
        self._emit(RunFinished(result))
        return result

    async def _loop(self) -> StopReason:
        agent = self._agent
        while True:
            if self._usage.turns >= agent.max_turns:
                return StopReason.MAX_TURNS
            budget = agent.max_tokens
            if agent.max_run_tokens is not None:
                budget = min(budget, agent.max_run_tokens - self._usage.completion_tokens)
                if budget <= 0:
                    return StopReason.TOKEN_BUDGET
            limit = StopReason.MAX_TOKENS if budget == agent.max_tokens else StopReason.TOKEN_BUDGET
            decision, finish = await self._generate(budget)
            for parsed in decision.kept:
                self._append(parsed.message, parsed.tokens)
            match decision.step:
                case Answer(message=answer):
                    self._final_text = answer.message.text
                    return limit if answer.truncated else StopReason.FINAL
                case CallTool(message=call):
                    await self._call(call)
                case GenerateAgain(model_error=True):
                    self._model_errors += 1
                case GenerateAgain() if (
                    finish is FinishReason.LENGTH and limit is StopReason.TOKEN_BUDGET
                ):
                    return limit
            if self._model_errors > agent.max_model_errors:
                return StopReason.ERROR_BUDGET

    async def _generate(self, max_tokens: int) -> tuple[Decision, FinishReason | None]:
        """Runs one generation; returns what to do next and why the generation ended."""
        parser = CompletionParser()
        finish: FinishReason | None = None
        generated = 0
        cached = 0
        with self._transcript.prompt() as prompt:
            prompt_length = len(prompt)
            stream = self._agent.engine.generate(
                prompt,
                stop_token_ids=_harmony.STOP_TOKENS,
                max_tokens=max_tokens,
                sampling=self._agent.sampling,
            )
            async with aclosing(stream):
                async for chunk in stream:
                    for token in chunk.token_ids:
                        delta = parser.feed(token)
                        if delta is not None:
                            self._emit(TextDelta(delta.text, delta.channel, delta.recipient))
                    generated += len(chunk.token_ids)
                    if chunk.finish_reason is not None:
                        finish = chunk.finish_reason
                        cached = chunk.cached_prompt_tokens or 0
        if finish is FinishReason.ABORT:
            raise EngineError("the engine aborted the generation")
        parser.finish(truncated=finish is FinishReason.LENGTH)
        usage = self._usage
        self._usage = replace(
            usage,
            prompt_tokens=usage.prompt_tokens + prompt_length,
            completion_tokens=usage.completion_tokens + generated,
            cached_prompt_tokens=usage.cached_prompt_tokens + cached,
            turns=usage.turns + 1,
        )
        decision = decide(parser.messages)
        self._recover([*parser.recoveries, *decision.recoveries])
        self._emit(GenerationFinished(finish, generated, self._usage))
        return decision, finish

    async def _call(self, parsed: ParsedMessage) -> None:
        """Runs a tool call and appends its result, which the model reads next."""
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
        if parsed.truncated:
            result = ToolResult(call, _CUT_OFF, ToolErrorKind.CUT_OFF)
        elif route is None:
            self._recover([Recovery(RecoveryKind.UNKNOWN_RECIPIENT, recipient)])
            result = self._router.unknown(call)
        else:
            if isinstance(route, FunctionRoute) and route.repaired_from is not None:
                self._recover(
                    [Recovery(RecoveryKind.RECIPIENT_REPAIRED, f"{recipient} -> {route.recipient}")]
                )
            result = await self._router.call(route, call)
        author = recipient if route is None else route.recipient
        tokens = _harmony.render_tool_result(author, message.channel, result.output)
        self._append(Message(author, result.output, message.channel, "assistant"), tokens)
        self._tool_results.append(result)
        self._usage = replace(self._usage, tool_calls=self._usage.tool_calls + 1)
        if result.error is not None:
            self._model_errors += 1
        self._emit(ToolCallFinished(result))

    def _append(self, message: Message, tokens: Sequence[int]) -> None:
        self._transcript.append(message, tokens)
        self._emit(MessageDone(message))

    def _recover(self, recoveries: Sequence[Recovery]) -> None:
        for recovery in recoveries:
            self._recoveries.append(recovery)
            self._emit(Recovered(recovery))
