"""What the sandbox raises when the host or the kernel fails (never for the code's own errors).

    SandboxError
    ├── IsolationUnavailable   `require_isolation` is set and a layer does not work here
    ├── KernelStartError       a kernel did not start (or did not answer) in time
    ├── SandboxClosed          the sandbox was used after `aclose`
    └── CopyError              copying a sandbox's files failed on the host
        └── CopyLimitExceeded  the files to copy are past a bound (count, depth, size)

The code's own exceptions, timeouts and crashes are results (`ExecutionResult`), not errors.
"""

from __future__ import annotations

__all__ = [
    "CopyError",
    "CopyLimitExceeded",
    "IsolationUnavailable",
    "KernelStartError",
    "SandboxClosed",
    "SandboxError",
]


class SandboxError(Exception):
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
