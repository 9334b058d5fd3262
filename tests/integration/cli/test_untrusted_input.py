"""Hostile inputs through the real console script: configs that would expand without bound."""

from __future__ import annotations

from pathlib import Path

from harmony_agent.cli import ExitCode

from tests.integration.cli.conftest import Cli
from tests.unit.config.test_yaml import laughs

GIB = 1 << 30


def test_validate_refuses_a_billion_laughs_in_bounded_memory(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "laughs.yaml"
    config.write_text(laughs(9), encoding="utf-8")  # 10**9 values in a few hundred bytes
    done = cli("validate", config, memory_limit=GIB, timeout=30)
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert f"error: {config}:" in done.stderr
    assert "the aliases repeat more than 10000 values" in done.stderr


def test_validate_refuses_a_recursive_anchor(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "recursive.yaml"
    config.write_text("engine: &engine\n  kind: scripted\n  script: *engine\n", encoding="utf-8")
    done = cli("validate", config)
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert f"error: {config}:3: engine.script: this alias is inside its own anchor" in done.stderr


def test_validate_refuses_deep_nesting(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "deep.yaml"
    config.write_text("tools: " + "[" * 20_000 + "]" * 20_000 + "\n", encoding="utf-8")
    done = cli("validate", config, timeout=30)
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert f"error: {config}:1: invalid YAML: nested deeper than 100 levels" in done.stderr
