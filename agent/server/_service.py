"""What every endpoint shares: the served agents by model name, the response store, the
limit on concurrent runs (and on those waiting for one: 429), and the metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from harmony_agent import (
    Agent,
    ConfigError,
    EngineError,
    HarmonyAgentError,
    History,
    RunStream,
    ToolUnavailable,
)
from harmony_agent.server._conversation import Opening
from harmony_agent.server._errors import APIError, bad_request
from harmony_agent.server._metrics import Metrics
from harmony_agent.server._store import Store

__all__ = ["Service", "api_error", "start_run"]


@dataclass(frozen=True)
class _Limits:
    max_running: int
    max_waiting: int


class Service:
    """The served models and what their requests share."""

    def __init__(
        self,
        agents: Mapping[str, Agent],
        store: Store,
        *,
        max_running: int,
        max_waiting: int,
    ) -> None:
        self.agents = dict(agents)
        self.store = store
        self.metrics = Metrics()
        self._limits = _Limits(max_running, max_waiting)
        self._slots = asyncio.Semaphore(max_running)
        self._waiting = 0

    def agent(self, model: str) -> Agent:
        """The agent served as `model`; a 404 naming `model` if there is none."""
        agent = self.agents.get(model)
        if agent is None:
            raise APIError(
                404,
                f"the model {model!r} does not exist; served: {', '.join(sorted(self.agents))}",
                param="model",
                code="model_not_found",
            )
        return agent

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Holds one of the concurrent runs' slots while the block runs; a 429 with
        `Retry-After` when all are taken and too many requests already wait for one.
        """
        if self._slots.locked() and self._waiting >= self._limits.max_waiting:
            raise APIError(
                429,
                f"{self._limits.max_running} runs are running and {self._waiting} waiting; "
                "retry later",
                code="rate_limit_exceeded",
                headers={"Retry-After": "1"},
            )
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        self.metrics.running += 1
        try:
            yield
        finally:
            self.metrics.running -= 1
            self._slots.release()


def api_error(error: HarmonyAgentError) -> APIError:
    """The HTTP error a run's exception becomes: a bad setting is the client's 400, an engine
    or tool that fails is a 503.
    """
    if isinstance(error, ConfigError):
        return bad_request(None, str(error))
    if isinstance(error, EngineError | ToolUnavailable):
        return APIError(503, f"the engine is unavailable: {error}", code="engine_unavailable")
    return APIError(500, f"the run failed: {error}", code="server_error")


def start_run(agent: Agent, opening: Opening, history: History) -> RunStream:
    """The run's event stream, not started yet; an opening the history cannot take (an output
    for a call the history does not end with) is a 400.
    """
    try:
        return agent.stream(opening, history=history)
    except ConfigError as error:
        raise bad_request("input", str(error)) from None
