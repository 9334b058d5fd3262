"""Fixtures of the console script's tests."""

from __future__ import annotations

import pytest

from tests.console import Cli, run_cli


@pytest.fixture
def cli() -> Cli:
    """Runs the real `harmony-agent` console script in a subprocess."""
    return run_cli
