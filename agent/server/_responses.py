"""POST /v1/responses: a request becomes a run of the served agent; its events become the
response's output items, streamed as Server-Sent Events or returned whole.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
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
)
from harmony_agent._history import History
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
from harmony_agent.server._errors import APIError, bad_request, response_not_found
from harmony_agent.server._options import (
    RequestOptions,
    function_spec,
    output_schema,
    request_agent,
)
from harmony_agent.server._output_items import OutputItems, new_id
from harmony_agent.server._requests import InputItem, ResponsesRequest, content_text
from harmony_agent.server._service import Service, api_error, start_run
from harmony_agent.server._store import StoredResponse

__all__ = ["PreparedRun", "prepare_response", "run_response", "stream_response", "usage"]

_INCOMPLETE = {
    StopReason.MAX_TOKENS: "max_output_tokens",
    StopReason.TOKEN_BUDGET: "max_output_tokens",
}


@dataclass(frozen=True)
class PreparedRun:
    """A validated request, ready to run: the agent with the request's settings, the history
    and opening, and what the response echoes back.
    """

    request: ResponsesRequest
    agent: Agent
    history: History
    stream: RunStream
    response_id: str
    call_id: str
    created_at: int


async def prepare_response(service: Service, request: ResponsesRequest) -> PreparedRun:
    """Checks a request against the served model and the store (400, 404) and builds its run."""
    base_agent = service.agent(request.model)
    history, known = History(), {}
    if request.previous_response_id is not None:
        stored = await service.store.response(request.previous_response_id)
        if stored is None:
            raise response_not_found(request.previous_response_id, "previous_response_id")
        history = stored.history
        if stored.pending_call_id is not None and history.entries:
            known[stored.pending_call_id] = history.entries[-1]
    instructions, items = _items(request.input)
    options = RequestOptions(
        instructions="\n\n".join(t for t in (request.instructions, *instructions) if t) or None,
        functions=tuple(
            function_spec(t.name, t.description, t.parameters) for t in request.tools or ()
        ),
        tool_choice=_tool_choice(request),
        effort=request.reasoning.effort if request.reasoning else None,
        output_schema=output_schema(request.text.format if request.text else None, "text.format"),
        max_output_tokens=request.max_output_tokens,
        temperature=request.temperature,
        top_p=request.top_p,
        params=(("functions", "tools"), ("output_type", "text.format")),
    )
    agent = request_agent(base_agent, options)
    history, opening = await continue_conversation(
        history,
        items,
        known_calls=known,
        lookup=service.store.segment,
        max_output_tokens=agent.max_tool_output_tokens,
    )
    stream = start_run(agent, opening, history)
    return PreparedRun(
        request, agent, history, stream, new_id("resp"), new_id("call"), int(time.time())
    )


async def run_response(service: Service, prepared: PreparedRun) -> dict[str, Any]:
    """Runs a prepared request to its end; the response body."""
    body: dict[str, Any] = {}
    async with aclosing(stream_response(service, prepared)) as events:
        async for event in events:
            if event["type"] in ("response.completed", "response.incomplete"):
                body = event["response"]
            elif event["type"] == "response.failed":
                raise _failure(event)
    return body


async def stream_response(
    service: Service, prepared: PreparedRun
) -> AsyncGenerator[dict[str, Any], None]:
    """The response's stream events, `response.created` first (once a run slot is taken)
    and `response.completed` (or `response.incomplete`, `response.failed`) last. Closing the
    iterator cancels the run. What fails before the first event raises its `APIError`.
    """
    agent = prepared.agent
    client = {f.name for f in agent.client_functions}
    output = OutputItems(client, prepared.call_id)
    sequence = 0

    def numbered(event: dict[str, Any]) -> dict[str, Any]:
        nonlocal sequence
        sequence += 1
        return {**event, "sequence_number": sequence - 1}

    started = time.monotonic()
    shell = _body(prepared, "in_progress", [], None)
    result: RunResult | None = None
    try:
        async with service.slot(), prepared.stream as stream:
            yield numbered({"type": "response.created", "response": shell})
            yield numbered({"type": "response.in_progress", "response": shell})
            async for event in stream:
                for out in output.feed(event):
                    yield numbered(out)
                if isinstance(event, RunFinished):
                    result = event.result
    except OutputValidationError as error:
        result = error.result
        for out in output.feed(RunFinished(result)):
            yield numbered(out)
    except HarmonyAgentError as error:
        failure = api_error(error)
        if sequence == 0:
            raise failure from None
        service.metrics.error("/v1/responses", failure.status)
        failed = {**shell, "status": "failed"}
        failed["error"] = {"code": failure.code, "message": failure.message}
        yield numbered({"type": "response.failed", "response": failed})
        return
    if result is None:
        return
    body = _body(prepared, _status(result), output.items, result)
    await _save(service, prepared, result, body)
    service.metrics.run(
        prepared.request.model,
        "responses",
        result.stop_reason.value,
        turns=result.usage.turns,
        tool_calls=result.usage.tool_calls,
        seconds=time.monotonic() - started,
    )
    kind = "response.completed" if body["status"] == "completed" else "response.incomplete"
    yield numbered({"type": kind, "response": body})


def _failure(event: dict[str, Any]) -> APIError:
    error = event["response"]["error"]
    status = 503 if error["code"] == "engine_unavailable" else 500
    return APIError(status, error["message"], code=error["code"])


def _status(result: RunResult) -> str:
    if result.stop_reason in (StopReason.FINAL, StopReason.CLIENT_CALL):
        return "completed"
    return "incomplete"


def _body(
    prepared: PreparedRun, status: str, items: list[dict[str, Any]], result: RunResult | None
) -> dict[str, Any]:
    request = prepared.request
    agent = prepared.agent
    incomplete = None
    if result is not None and status == "incomplete":
        incomplete = {"reason": _INCOMPLETE.get(result.stop_reason, result.stop_reason.value)}
    return {
        "id": prepared.response_id,
        "object": "response",
        "created_at": prepared.created_at,
        "model": request.model,
        "status": status,
        "output": items,
        "output_text": "".join(
            part["text"] for item in items if item["type"] == "message" for part in item["content"]
        ),
        "error": None,
        "incomplete_details": incomplete,
        "instructions": request.instructions,
        "tools": [t.model_dump(exclude_none=True) for t in request.tools or ()],
        "tool_choice": _echo_tool_choice(request),
        "parallel_tool_calls": False,
        "previous_response_id": request.previous_response_id,
        "reasoning": {"effort": agent.reasoning, "summary": None},
        "store": request.store,
        "temperature": agent.sampling.temperature,
        "top_p": agent.sampling.top_p,
        "max_output_tokens": request.max_output_tokens,
        "text": {"format": {"type": "text"}}
        if request.text is None
        else {"format": request.text.model_dump(by_alias=True, exclude_none=True)["format"]},
        "truncation": "disabled",
        "metadata": {},
        "usage": None if result is None else usage(result),
    }


def usage(result: RunResult) -> dict[str, Any]:
    """The run's tokens as the Responses API counts them."""
    used = result.usage
    return {
        "input_tokens": used.prompt_tokens,
        "input_tokens_details": {"cached_tokens": used.cached_prompt_tokens},
        "output_tokens": used.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens(result)},
        "total_tokens": used.total_tokens,
    }


async def _save(
    service: Service, prepared: PreparedRun, result: RunResult, body: dict[str, Any]
) -> None:
    stored = None
    if prepared.request.store:
        pending = prepared.call_id if result.pending_call is not None else None
        stored = StoredResponse(
            prepared.response_id, prepared.request.model, body, result.history, pending
        )
    await service.store.save(stored, segments(result, prepared.call_id))


def _tool_choice(request: ResponsesRequest) -> str | None:
    choice = request.tool_choice
    if choice is None or isinstance(choice, str):
        return choice
    return choice.name


def _echo_tool_choice(request: ResponsesRequest) -> Any:
    choice = request.tool_choice
    if choice is None:
        return "auto"
    return choice if isinstance(choice, str) else choice.model_dump()


def _items(source: str | list[InputItem]) -> tuple[list[str], list[Item]]:
    """The instructions (system and developer messages) and the conversation items."""
    if isinstance(source, str):
        return [], [UserText(source, "input")]
    instructions: list[str] = []
    items: list[Item] = []
    for index, item in enumerate(source):
        param = f"input[{index}]"
        match item.type:
            case "message":
                if item.role is None:
                    raise bad_request(f"{param}.role", "a message needs a role")
                text = content_text(item.content)
                if item.role in ("system", "developer"):
                    instructions.append(text)
                elif item.role == "user":
                    items.append(UserText(text, param))
                else:
                    items.append(AssistantText(text, param))
            case "function_call":
                if item.call_id is None or item.name is None:
                    raise bad_request(f"{param}.call_id", "a function_call needs call_id and name")
                items.append(FunctionCall(item.call_id, item.name, item.arguments or "{}", param))
            case "function_call_output":
                if item.call_id is None:
                    raise bad_request(f"{param}.call_id", "a function_call_output needs call_id")
                items.append(FunctionOutput(item.call_id, content_text(item.output), param))
            case "reasoning":
                text = content_text(item.content) or content_text(item.summary)
                items.append(Reasoning(text, param))
            case _:
                pass  # the server's own tool calls: their tokens come with the segments
    return instructions, items
