"""The sandbox's settings: one frozen pydantic model, embeddable in a YAML agent config."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ReadOnlyMount", "SandboxConfig"]

WORKDIR = "/mnt/data"
"""Where the working directory appears inside the sandbox (the path gpt-oss was trained with)."""


class ReadOnlyMount(BaseModel):
    """A host path the code may read, at `target` inside the sandbox (default: the same path)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Path = Field(description="The host file or directory.")
    target: str | None = Field(
        default=None, description="The absolute path inside the sandbox; default: `source`."
    )


class SandboxConfig(BaseModel):
    """Limits and contents of one sandboxed kernel.

    Every limit applies to the kernel's whole process tree where the host allows it (see
    `check_isolation`); the defaults suit model-written analysis code.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    memory_mb: Annotated[int, Field(ge=256)] = Field(
        default=2048,
        description="Memory of the kernel's process tree (cgroup); the address space of each "
        "process is capped at the same size, so code gets MemoryError before the OOM killer.",
    )
    cpu_seconds: Annotated[int, Field(gt=0)] = Field(
        default=600, description="CPU seconds one kernel process may use over its life."
    )
    cell_timeout_s: Annotated[float, Field(gt=0)] = Field(
        default=120.0,
        description="Seconds one execution may take before it is interrupted (state kept).",
    )
    interrupt_grace_s: Annotated[float, Field(gt=0)] = Field(
        default=2.0,
        description="Seconds an interrupted execution has to stop before the kernel restarts.",
    )
    start_timeout_s: Annotated[float, Field(gt=0)] = Field(
        default=60.0, description="Seconds a kernel may take to start."
    )
    max_processes: Annotated[int, Field(ge=16)] = Field(
        default=128, description="Processes and threads of the kernel's tree (cgroup pids)."
    )
    max_file_mb: Annotated[int, Field(gt=0)] = Field(
        default=256, description="Largest file the code may write; also the size of its /tmp."
    )
    max_open_files: Annotated[int, Field(ge=64)] = Field(
        default=1024, description="Open files per process."
    )
    network: bool = Field(
        default=False, description="Give the code network access (off: no network at all)."
    )
    read_only_mounts: tuple[ReadOnlyMount, ...] = Field(
        default=(), description="Extra host paths the code may read."
    )
    files: tuple[Path, ...] = Field(
        default=(), description="Host files copied into the working directory at start."
    )
    output_chars: Annotated[int, Field(ge=200)] = Field(
        default=20_000,
        description="Characters of output kept per stream and execution: the head and the "
        "tail, with a note of what was cut.",
    )
    python: Path | None = Field(
        default=None,
        description="The kernel's Python (needs ipykernel); default: the running interpreter.",
    )
    require_isolation: bool = Field(
        default=False,
        description="Refuse to start unless every isolation layer works on this host.",
    )
