"""The root of harmony-agent's exception tree, `ConfigError`, and what the sandbox raises when
the host or the kernel fails (never for the code's own errors).

    HarmonyAgentError          every exception harmony-agent raises on purpose
    ├── ConfigError            invalid settings (e.g. a kernel pool of size 0)
    └── SandboxError
        ├── IsolationUnavailable   `require_isolation` is set and a layer does not work here
        ├── KernelStartError       a kernel did not start (or did not answer) in time
        ├── SandboxClosed          the sandbox was used after `aclose`
        └── CopyError              copying a sandbox's files failed on the host
            └── CopyLimitExceeded  the files to copy are past a bound (count, depth, size)

The root and `ConfigError` are defined here, in the bottom layer, because imports go one way:
the sandbox imports nothing from tools or the agent, and every layer raises them (the whole
tree is in `harmony_agent._errors`). The code's own exceptions, timeouts and crashes are
results (`ExecutionResult`), not errors.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "CopyError",
    "CopyLimitExceeded",
    "HarmonyAgentError",
    "IsolationUnavailable",
    "KernelStartError",
    "SandboxClosed",
    "SandboxError",
]


class HarmonyAgentError(Exception):
    """Base class of every exception harmony-agent raises on purpose."""


class ConfigError(HarmonyAgentError, ValueError):
    """Invalid settings: an agent's or a sandbox's option, a tool definition, a config file."""


class SandboxError(HarmonyAgentError):
    """Base class of the sandbox's exceptions."""


class IsolationUnavailable(SandboxError):
    """Full isolation was required and this host cannot provide it; the message says why."""


class KernelStartError(SandboxError):
    """A kernel process failed to start or to answer; the message holds its stderr."""


class SandboxClosed(SandboxError):
    """The sandbox (or the pool) was used after it was closed."""


class CopyError(SandboxError):
    """Copying a directory tree the code controls failed on the host (e.g. its disk is full)."""


class CopyLimitExceeded(CopyError):
    """The tree to copy is past a bound; the message says what it holds, e.g. "more than
    10,000 files and directories".
    """
