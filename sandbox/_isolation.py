"""Which isolation layers work on this host, found by trying them, and a report that says so.

The sandbox uses every layer that works and never claims one that does not: the report feeds
a log line, the python tool's description and `python -m harmony_agent.sandbox` (a doctor
check that prints it).
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harmony_agent.sandbox._cgroup import cgroup_support
from harmony_agent.sandbox._config import SandboxConfig
from harmony_agent.sandbox._launch import NOBODY, Layers, build_launch, python_install

__all__ = ["IsolationReport", "check_isolation"]

logger = logging.getLogger("harmony_agent.sandbox")


@dataclass(frozen=True)
class IsolationReport:
    """The layers active for kernels started with a given interpreter on this host.

    `bubblewrap`: own mount, pid, ipc, uts (and unless `network` is on, network) namespaces;
    read-only system, private /tmp, only the working directory writable, empty environment.
    `unprivileged`: code runs as a non-root uid without capabilities. `cgroup_version`,
    `memory_capped`, `processes_capped`: the per-kernel cgroup. Resource limits (address
    space, CPU time, file size, open files) and the parent-death signal always apply.
    `problems` says why each missing layer is missing.
    """

    bubblewrap: bool
    unprivileged: bool
    cgroup_version: int | None
    memory_capped: bool
    processes_capped: bool
    problems: tuple[str, ...] = ()

    @property
    def layers(self) -> Layers:
        """The wrappers a launch uses."""
        return Layers(
            bubblewrap=self.bubblewrap,
            setpriv=self.unprivileged and os.geteuid() == 0,
            cgroup=self.cgroup_version is not None,
        )

    @property
    def complete(self) -> bool:
        """Whether every layer is active."""
        return (
            self.bubblewrap and self.unprivileged and self.memory_capped and self.processes_capped
        )

    def network_access(self, config: SandboxConfig) -> bool:
        """Whether code can reach the network (only bubblewrap can take it away)."""
        return config.network or not self.bubblewrap

    def summary(self) -> str:
        """One line naming the active and the missing layers."""
        cgroup = f"cgroup v{self.cgroup_version}" if self.cgroup_version else "no cgroup"
        parts = [
            "bubblewrap namespaces" if self.bubblewrap else "NO bubblewrap (no namespaces)",
            "unprivileged uid" if self.unprivileged else "runs as ROOT",
            f"{cgroup} (memory {'capped' if self.memory_capped else 'NOT capped'}, "
            f"processes {'capped' if self.processes_capped else 'NOT capped'})",
            "rlimits",
        ]
        mode = "full isolation" if self.complete else "DEGRADED isolation"
        return f"{mode}: " + ", ".join(parts)

    def lines(self) -> list[str]:
        """The summary, then one line per problem: what a doctor check prints."""
        return [self.summary(), *(f"  - {problem}" for problem in self.problems)]


def _works(layers: Layers, python: Path | None, config: SandboxConfig) -> str | None:
    """Runs the interpreter under `layers` (importing ipykernel); returns the error, if any."""
    install = python_install(python)
    with tempfile.TemporaryDirectory(prefix="harmony-sandbox-probe-") as root:
        work, run = Path(root, "work"), Path(root, "run")
        work.mkdir()
        run.mkdir()
        if layers.setpriv:
            os.chmod(root, 0o711)
            for directory in (work, run):
                os.chown(directory, NOBODY, NOBODY)
        inner = [install.executable, "-c", "import ipykernel, os; open('probe', 'w').close()"]
        launch = build_launch(
            inner, layers=layers, config=config, install=install, work=work, run=run
        )
        try:
            done = subprocess.run(
                launch.argv,
                env=launch.env,
                cwd=launch.cwd,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return str(error)
        if done.returncode != 0 or not (work / "probe").exists():
            return (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
    return None


@functools.cache
def _check(python: Path | None, network: bool) -> IsolationReport:
    config = SandboxConfig(network=network)
    problems: list[str] = []
    root = os.geteuid() == 0
    can_setpriv = root and shutil.which("setpriv") is not None
    if root and not can_setpriv:
        problems.append("setpriv not found (util-linux): code would run as root")
    bwrap = shutil.which("bwrap") is not None
    if not bwrap:
        problems.append("bubblewrap not installed (`apt-get install bubblewrap`)")
    chosen: Layers | None = None
    for layers in (
        Layers(bubblewrap=True, setpriv=can_setpriv, cgroup=False),
        Layers(bubblewrap=True, setpriv=False, cgroup=False),
        Layers(bubblewrap=False, setpriv=can_setpriv, cgroup=False),
    ):
        if layers.bubblewrap and not bwrap:
            continue
        error = _works(layers, python, config)
        if error is None:
            chosen = layers
            break
        what = "bubblewrap" if layers.bubblewrap else "plain process"
        user = " as uid 65534" if layers.setpriv else ""
        problems.append(f"{what}{user} failed: {error}")
    if chosen is None:
        chosen = Layers(bubblewrap=False, setpriv=False, cgroup=False)
    cgroups = cgroup_support()
    if cgroups is None:
        problems.append("no writable cgroup (memory and processes capped per process only)")
    version, memory, processes = cgroups if cgroups else (None, False, False)
    report = IsolationReport(
        bubblewrap=chosen.bubblewrap,
        unprivileged=chosen.setpriv or not root,
        cgroup_version=version,
        memory_capped=memory,
        processes_capped=processes,
        problems=tuple(problems),
    )
    log = logger.info if report.complete else logger.warning
    log("python sandbox: %s", report.summary())
    return report


def check_isolation(config: SandboxConfig | None = None) -> IsolationReport:
    """Finds which layers work here for `config`'s interpreter, by starting it under them.

    Blocking (up to a few hundred milliseconds, once per interpreter and network setting;
    cached after): call it at setup, or through `asyncio.to_thread`.
    """
    config = config or SandboxConfig()
    return _check(config.python, config.network)
