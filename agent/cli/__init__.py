"""The `harmony-agent` command line: `run`, `chat`, `batch`, `validate`, `schema`, `show`.

The only part of harmony-agent that prints. Exit codes are listed in `ExitCode`. A new
command is a function decorated with `handles_errors`, registered in `_COMMANDS`.
"""

from harmony_agent.cli._app import app
from harmony_agent.cli._batch_command import batch
from harmony_agent.cli._chat_command import chat
from harmony_agent.cli._config_commands import schema, validate
from harmony_agent.cli._exit import ExitCode
from harmony_agent.cli._run_commands import run, show

__all__ = ["ExitCode", "app", "main"]

_COMMANDS = (run, chat, batch, show, validate, schema)
for _command in _COMMANDS:
    app.command()(_command)


def main() -> None:
    """Entry point of the `harmony-agent` console script."""
    app()
