"""POST /v1/chat/completions: the same runs as the Responses endpoint, in the Chat Completions
shape; the reasoning is in `reasoning_content`, as vLLM returns it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from harmony_agent import (
    Agent,
    HarmonyAgentError,
    OutputValidationError,
    RunFinished,
    RunResult,
    RunStream,
    StopReason,
    TextDelta,
)
from harmony_agent._history import History
from harmony_agent.server._call_deltas import CallDeltas
from harmony_agent.server._conversation import (
    AssistantText,
    FunctionCall,
    FunctionOutput,
    Item,
    Reasoning,
    UserText,
    continue_conversation,
    reasoning_tokens,
    segments,
)
from harmony_agent.server._errors import APIError, bad_request
from harmony_agent.server._options import (
    RequestOptions,
    function_spec,
    output_schema,
    request_agent,
)
from harmony_agent.server._output_items import new_id
from harmony_agent.server._requests import ChatMessage, ChatRequest, content_text
from harmony_agent.server._service import Service, api_error, start_run

__all__ = ["PreparedChat", "chat_chunks", "prepare_chat", "run_chat"]


@dataclass(frozen=True)
class PreparedChat:
    """A validated chat request, ready to run."""

    request: ChatRequest
    agent: Agent
    stream: RunStream
    completion_id: str
    call_id: str
    created: int


async def prepare_chat(service: Service, request: ChatRequest) -> PreparedChat:
    """Checks a request against the served model (400, 404) and builds its run."""
    base_agent = service.agent(request.model)
    instructions, items = _items(request.messages)
    choice = request.tool_choice
    options = RequestOptions(
        instructions="\n\n".join(instructions) or None,
        functions=tuple(
            function_spec(t.function.name, t.function.description, t.function.parameters)
            for t in request.tools or ()
        ),
        tool_choice=choice if choice is None or isinstance(choice, str) else choice.function.name,
        effort=request.reasoning_effort,
        output_schema=output_schema(request.response_format, "response_format"),
        max_output_tokens=request.max_completion_tokens or request.max_tokens,
        temperature=request.temperature,
        top_p=request.top_p,
        params=(("functions", "tools"), ("output_type", "response_format")),
    )
    agent = request_agent(base_agent, options)
    history, opening = await continue_conversation(
        History(),
        items,
        known_calls={},
        lookup=service.store.segment,
        max_output_tokens=agent.max_tool_output_tokens,
    )
    return PreparedChat(
        request,
        agent,
        start_run(agent, opening, history),
        f"chatcmpl-{new_id('c').removeprefix('c_')}",
        new_id("call"),
        int(time.time()),
    )


async def run_chat(service: Service, prepared: PreparedChat) -> dict[str, Any]:
    """Runs a prepared request to its end; the `chat.completion` body."""
    result: RunResult | None = None
    async for part in _run(service, prepared):
        if isinstance(part, RunResult):
            result = part
    if result is None:
        raise APIError(500, "the run ended without a result", code="server_error")
    message: dict[str, Any] = {
        "role": "assistant",
        "content": result.final_text or None,
        "reasoning_content": _reasoning(result) or None,
        "tool_calls": _tool_calls(result, prepared.call_id) or None,
    }
    return {
        "id": prepared.completion_id,
        "object": "chat.completion",
        "created": prepared.created,
        "model": prepared.request.model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": _finish(result), "logprobs": None}
        ],
        "usage": _usage(result),
    }


async def chat_chunks(service: Service, prepared: PreparedChat) -> AsyncIterator[dict[str, Any]]:
    """The `chat.completion.chunk`s of a streamed request; closing the iterator cancels the
    run. What fails before the first chunk raises its `APIError`; after it, the stream ends
    with an error object.
    """
    started = False
    try:
        async for part in _run(service, prepared):
            started = True
            if not isinstance(part, RunResult):
                yield _chunk(prepared, part)
                continue
            yield _chunk(prepared, {}, finish_reason=_finish(part))
            options = prepared.request.stream_options
            if options is not None and options.include_usage:
                yield {**_chunk(prepared, {}), "choices": [], "usage": _usage(part)}
    except APIError as error:
        if not started:
            raise
        service.metrics.error("/v1/chat/completions", error.status)
        yield error.body()


async def _run(
    service: Service, prepared: PreparedChat
) -> AsyncIterator[dict[str, Any] | RunResult]:
    """The run's deltas (the role once a run slot is taken, then `content`,
    `reasoning_content` or `tool_calls`), then its result (once it is recorded). Closing the
    iterator cancels the run.
    """
    started = time.monotonic()
    result: RunResult | None = None
    calls = CallDeltas(_callable(prepared), prepared.call_id)
    try:
        async with service.slot(), prepared.stream as stream:
            yield {"role": "assistant", "content": ""}
            async for event in stream:
                for call in calls.feed(event):
                    yield {"tool_calls": [call]}
                if isinstance(event, TextDelta) and event.recipient is None:
                    key = "content" if event.channel == "final" else "reasoning_content"
                    yield {key: event.text}
                elif isinstance(event, RunFinished):
                    result = event.result
    except OutputValidationError as error:
        result = error.result
    except HarmonyAgentError as error:
        raise api_error(error) from None
    if result is None:
        return
    await service.store.save(None, segments(result, prepared.call_id))
    service.metrics.run(
        prepared.request.model,
        "chat",
        result.stop_reason.value,
        turns=result.usage.turns,
        tool_calls=result.usage.tool_calls,
        seconds=time.monotonic() - started,
    )
    for call in calls.finish(result.pending_call):
        yield {"tool_calls": [call]}
    yield result


def _callable(prepared: PreparedChat) -> frozenset[str]:
    """The client functions whose calls stream: those `tool_choice` allows."""
    choice = prepared.request.tool_choice
    if choice is not None and not isinstance(choice, str):
        return frozenset({choice.function.name})
    return frozenset(f.name for f in prepared.agent.client_functions)


def _chunk(
    prepared: PreparedChat, delta: dict[str, Any], *, finish_reason: str | None = None
) -> dict[str, Any]:
    return {
        "id": prepared.completion_id,
        "object": "chat.completion.chunk",
        "created": prepared.created,
        "model": prepared.request.model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
    }


def _finish(result: RunResult) -> str:
    if result.pending_call is not None:
        return "tool_calls"
    if result.stop_reason is StopReason.FINAL:
        return "stop"
    return "length"


def _reasoning(result: RunResult) -> str:
    return "\n".join(
        m.text
        for m in result.messages
        if m.author == "assistant" and m.recipient is None and m.channel != "final"
    )


def _tool_calls(result: RunResult, call_id: str) -> list[dict[str, Any]]:
    call = result.pending_call
    if call is None:
        return []
    name = call.recipient.removeprefix("functions.")
    return [
        {"id": call_id, "type": "function", "function": {"name": name, "arguments": call.arguments}}
    ]


def _usage(result: RunResult) -> dict[str, Any]:
    used = result.usage
    return {
        "prompt_tokens": used.prompt_tokens,
        "completion_tokens": used.completion_tokens,
        "total_tokens": used.total_tokens,
        "prompt_tokens_details": {"cached_tokens": used.cached_prompt_tokens},
        "completion_tokens_details": {"reasoning_tokens": reasoning_tokens(result)},
    }


def _items(messages: list[ChatMessage]) -> tuple[list[str], list[Item]]:
    """The instructions (system and developer messages) and the conversation items."""
    instructions: list[str] = []
    items: list[Item] = []
    for index, message in enumerate(messages):
        param = f"messages[{index}]"
        text = content_text(message.content)
        match message.role:
            case "system" | "developer":
                instructions.append(text)
            case "user":
                items.append(UserText(text, param))
            case "tool":
                if message.tool_call_id is None:
                    raise bad_request(f"{param}.tool_call_id", "a tool message needs tool_call_id")
                items.append(FunctionOutput(message.tool_call_id, text, param))
            case "assistant":
                thought = message.reasoning_content or message.reasoning
                if thought:
                    items.append(Reasoning(thought, param))
                for number, call in enumerate(message.tool_calls or ()):
                    items.append(
                        FunctionCall(
                            call.id,
                            call.function.name,
                            call.function.arguments,
                            f"{param}.tool_calls[{number}]",
                        )
                    )
                if not message.tool_calls:
                    items.append(AssistantText(text, param))
    return instructions, items
