"""The sandbox's command line and settings (built, not run)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harmony_agent.sandbox import ReadOnlyMount, SandboxConfig
from harmony_agent.sandbox._launch import Layers, PythonInstall, bootstrap_command, build_launch
from pydantic import ValidationError

INSTALL = PythonInstall("/opt/py/bin/python", ("/opt/py",))
WORK, RUN = Path("/srv/box/work"), Path("/srv/box/run")
ALL = Layers(bubblewrap=True, setpriv=True, cgroup=True)


def launch(config: SandboxConfig, layers: Layers = ALL, procs: tuple[Path, ...] = ()) -> list[str]:
    return build_launch(
        ["python", "-c", "pass"],
        layers=layers,
        config=config,
        install=INSTALL,
        work=WORK,
        run=RUN,
        procs_files=procs,
    ).argv


def pairs(argv: list[str], flag: str) -> list[tuple[str, str]]:
    return [(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a == flag]


def test_full_layers_wrap_in_order() -> None:
    argv = launch(SandboxConfig(), procs=(Path("/cg/a/cgroup.procs"),))
    assert argv[:3] == ["/bin/sh", "-c", 'echo $$ > /cg/a/cgroup.procs && exec "$@"']
    bwrap, setpriv = argv.index("bwrap"), argv.index("setpriv")
    assert bwrap < setpriv < argv.index("python")
    assert {"--unshare-net", "--die-with-parent", "--clearenv", "--new-session"} <= set(argv)
    assert ("/opt/py", "/opt/py") in pairs(argv, "--ro-bind")
    assert (str(WORK), "/mnt/data") in pairs(argv, "--bind")
    assert "--reuid=65534" in argv


def test_network_on_keeps_the_network_namespace_and_resolver() -> None:
    argv = launch(SandboxConfig(network=True))
    assert "--unshare-net" not in argv
    assert ("/etc/resolv.conf", "/etc/resolv.conf") in pairs(argv, "--ro-bind-try")


def test_extra_read_only_mounts() -> None:
    config = SandboxConfig(read_only_mounts=(ReadOnlyMount(source=Path("/data/x"), target="/x"),))
    assert ("/data/x", "/x") in pairs(launch(config), "--ro-bind")


def test_without_bubblewrap_the_environment_is_still_replaced() -> None:
    result = build_launch(
        ["python"],
        layers=Layers(bubblewrap=False, setpriv=False, cgroup=False),
        config=SandboxConfig(),
        install=INSTALL,
        work=WORK,
        run=RUN,
    )
    assert result.argv == ["python"]
    assert result.env["HOME"] == str(WORK)
    assert "VIRTUAL_ENV" not in result.env and "USER" not in result.env


def test_bootstrap_limits() -> None:
    config = SandboxConfig(memory_mb=512, cpu_seconds=30, max_file_mb=8, max_processes=32)
    argv = bootstrap_command(INSTALL, config, "/run/kernel/kernel.json", cgroup=False)
    assert argv[0] == INSTALL.executable and argv[-1] == "/run/kernel/kernel.json"
    limits = json.loads(argv[-2])
    assert limits == {
        "as": 512 << 20,
        "cpu": 30,
        "fsize": 8 << 20,
        "nofile": 1024,
        "core": 0,
        "nproc": 32,
    }
    with_cgroup = json.loads(bootstrap_command(INSTALL, config, "k", cgroup=True)[-2])
    assert "nproc" not in with_cgroup


def test_config_rejects_unknown_keys_and_is_frozen() -> None:
    with pytest.raises(ValidationError):
        SandboxConfig(memory=1)  # type: ignore[call-arg]
    config = SandboxConfig()
    with pytest.raises(ValidationError):
        config.network = True
