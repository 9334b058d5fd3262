"""The error a config file raises: it names the file, the line, the key path and the fix."""

from __future__ import annotations

from collections.abc import Sequence

from harmony_agent._errors import ConfigError

__all__ = ["ConfigFileError", "format_key_path", "format_problem"]


def format_key_path(path: Sequence[str | int]) -> str:
    """`("tools", "functions", 0, "handler")` as `tools.functions[0].handler`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
    return text


def format_problem(source: str, line: int | None, path: Sequence[str | int], message: str) -> str:
    """`FILE:LINE: KEY.PATH: message`, leaving out what is not known (and the key where the
    message starts with it: errors raised by the Python API name their parameter, which is
    the key).
    """
    where = source if line is None else f"{source}:{line}"
    key = format_key_path(path)
    if not key or message.startswith(f"{key}: "):
        return f"{where}: {message}"
    return f"{where}: {key}: {message}"


class ConfigFileError(ConfigError):
    """A config file is invalid. `problems` holds one line per problem, each formatted as
    `FILE:LINE: KEY.PATH: what is wrong and how to fix it`.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)

    @classmethod
    def at(
        cls, source: str, line: int | None, path: Sequence[str | int], message: str
    ) -> ConfigFileError:
        """The error for one problem at one place."""
        return cls([format_problem(source, line, path, message)])
