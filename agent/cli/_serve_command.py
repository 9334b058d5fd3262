"""`serve`: the agents of one or more configs behind OpenAI's HTTP APIs."""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from harmony_agent.cli._app import announce_engine, error_console, handles_errors, load
from harmony_agent.cli._exit import UserError

if TYPE_CHECKING:
    from harmony_agent import Agent
    from harmony_agent.config import AgentConfig

__all__ = ["serve"]


@handles_errors
def serve(
    configs: Annotated[
        list[str],
        typer.Argument(
            help="Agent configs, each served as its file's stem, or as NAME with NAME=CONFIG.",
            show_default=False,
        ),
    ],
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port to listen on.")] = 8000,
    api_key: Annotated[
        list[str] | None,
        typer.Option(
            "--api-key",
            envvar="HARMONY_AGENT_API_KEY",
            help="A key clients must send as `Authorization: Bearer KEY` (repeatable).",
        ),
    ] = None,
    store: Annotated[
        str,
        typer.Option(help="The SQLite file of stored responses (`:memory:` keeps none)."),
    ] = str(Path(".harmony-agent") / "responses.sqlite"),
    store_max_responses: Annotated[
        int, typer.Option(help="Stored responses kept (the oldest go first).")
    ] = 1_000,
    store_max_segments: Annotated[
        int, typer.Option(help="Records of generated segments kept, for replayed histories.")
    ] = 10_000,
    store_max_age_s: Annotated[
        int, typer.Option(help="Seconds a stored response or record is kept.")
    ] = 30 * 24 * 3600,
    max_running: Annotated[int, typer.Option(help="Runs at once.")] = 16,
    max_waiting: Annotated[
        int, typer.Option(help="Requests waiting for a run beyond those (then 429).")
    ] = 64,
    max_body_bytes: Annotated[int, typer.Option(help="The largest request body.")] = 8 << 20,
) -> None:
    """Serve agents over OpenAI's Responses and Chat Completions APIs (Ctrl-C stops)."""
    if any(importlib.util.find_spec(name) is None for name in ("fastapi", "uvicorn")):
        raise UserError("serving needs the server extra: pip install 'harmony-agent[server]'")
    from harmony_agent.server import ServerSettings
    from harmony_agent.server import serve as run_server
    from pydantic import SecretStr, ValidationError

    served = _configs(configs)
    for config in served.values():
        announce_engine(config)
    try:
        settings = ServerSettings(
            host=host,
            port=port,
            api_keys=tuple(SecretStr(key) for key in api_key or () if key),
            store=store,
            store_max_responses=store_max_responses,
            store_max_segments=store_max_segments,
            store_max_age_s=store_max_age_s,
            max_running=max_running,
            max_waiting=max_waiting,
            max_body_bytes=max_body_bytes,
        )
    except ValidationError as error:
        raise UserError(str(error)) from None

    @contextlib.asynccontextmanager
    async def open_agents() -> AsyncIterator[Mapping[str, Agent]]:
        async with contextlib.AsyncExitStack() as stack:
            agents = {
                name: await stack.enter_async_context(config.open())
                for name, config in served.items()
            }
            error_console.print(
                f"Serving {', '.join(agents)} at http://{host}:{port}/v1", soft_wrap=True
            )
            yield agents

    run_server(open_agents, settings)


def _configs(arguments: list[str]) -> dict[str, AgentConfig]:
    """The configs by model name: `NAME=PATH`, or a path served as its file's stem."""
    served: dict[str, AgentConfig] = {}
    for argument in arguments:
        name, separator, path = argument.partition("=")
        if not separator:
            name, path = Path(argument).stem, argument
        if not name or name in served:
            raise UserError(f"{argument}: give each config its own model name (NAME=CONFIG)")
        served[name] = load(Path(path))
    return served
