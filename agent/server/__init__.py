"""`harmony-agent serve`: the runtime behind OpenAI's HTTP APIs (Responses, Chat
Completions), for the clients that speak them (the openai SDK, the Agents SDK, Codex).

Needs the `server` extra (FastAPI, uvicorn); importing this package imports none of it until
an application is created.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harmony_agent.server._settings import ServerSettings

if TYPE_CHECKING:
    from harmony_agent.server._app import App, OpenAgents

__all__ = ["ServerSettings", "create_app", "serve"]


def create_app(open_agents: OpenAgents, settings: ServerSettings) -> App:
    """The ASGI application serving the agents `open_agents` opens, by model name."""
    from harmony_agent.server._app import create_app as build

    return build(open_agents, settings)


def serve(open_agents: OpenAgents, settings: ServerSettings) -> None:
    """Serves the agents `open_agents` opens until interrupted."""
    from harmony_agent.server._app import serve as run

    run(open_agents, settings)
