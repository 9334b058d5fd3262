"""The `harmony-agent` command line: `run`, `chat`, `batch`, `exec`, `serve`, `validate`,
`schema`, `show`, `selftest` and `demo`.

The only part of harmony-agent that prints. Exit codes are listed in `ExitCode`. A new
command is a function decorated with `handles_errors`, registered in `_COMMANDS`.
"""

from harmony_agent.cli._app import app
from harmony_agent.cli._batch_command import batch
from harmony_agent.cli._chat_command import chat
from harmony_agent.cli._config_commands import schema, validate
from harmony_agent.cli._demo_command import demo
from harmony_agent.cli._exec_command import exec_programs
from harmony_agent.cli._exit import ExitCode
from harmony_agent.cli._mcp_command import mcp
from harmony_agent.cli._run_commands import run, show
from harmony_agent.cli._selftest_command import selftest
from harmony_agent.cli._serve_command import serve

__all__ = ["ExitCode", "app", "main"]

_COMMANDS = (demo, run, chat, batch, serve, mcp, show, validate, schema, selftest)
for _command in _COMMANDS:
    app.command()(_command)
app.command(name="exec")(exec_programs)  # `exec` itself is a Python builtin


def main() -> None:
    """Entry point of the `harmony-agent` console script."""
    app()
