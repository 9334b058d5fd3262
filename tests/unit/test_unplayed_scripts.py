"""A passing test that leaves completions of a ScriptedEngine unplayed fails (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFTEST = Path(__file__).parents[1] / "conftest.py"

TESTS = """
import pytest
from harmony_agent import Agent
from harmony_agent.engines import ScriptedEngine

FINAL = "<|channel|>final<|message|>Hi.<|return|>"


class Subclass(ScriptedEngine):
    pass


@pytest.fixture
def engine():
    return ScriptedEngine([FINAL, FINAL])


def test_plays_its_script():
    Agent(engine=ScriptedEngine([FINAL])).run("Hi")
    Agent(engine=ScriptedEngine.routed({"Hi": [FINAL]})).run("Hi")


def test_leaves_a_completion():
    Agent(engine=ScriptedEngine([FINAL, FINAL])).run("Hi")


def test_leaves_a_routed_completion():
    Agent(engine=ScriptedEngine.routed({"Hi": [FINAL], "Bye": [FINAL]})).run("Hi")


def test_leaves_a_completion_of_a_subclass():
    Subclass([FINAL])


def test_leaves_a_completion_of_a_fixture(engine):
    Agent(engine=engine).run("Hi")


@pytest.mark.unconsumed_script(reason="stops early on purpose")
def test_says_why():
    Agent(engine=ScriptedEngine([FINAL, FINAL])).run("Hi")


@pytest.mark.unconsumed_script
def test_gives_no_reason():
    pass


def test_fails_on_its_own():
    ScriptedEngine([FINAL])
    assert False, "its own failure"
"""


@pytest.mark.unconsumed_script(reason="the inner session checks its own tests' scripts")
def test_a_leftover_completion_fails_a_passing_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST.read_text(encoding="utf-8"))
    pytester.makepyfile(TESTS)

    result = pytester.runpytest_inprocess("-o", "asyncio_default_fixture_loop_scope=function")

    # a test that fails at teardown counts as passed and as an error
    result.assert_outcomes(passed=6, failed=1, errors=5)
    errors = {line.split(" - ")[0] for line in result.outlines if line.startswith("ERROR ")}
    assert errors == {
        f"ERROR test_a_leftover_completion_fails_a_passing_test.py::{name}"
        for name in (
            "test_leaves_a_completion",
            "test_leaves_a_routed_completion",
            "test_leaves_a_completion_of_a_subclass",
            "test_leaves_a_completion_of_a_fixture",
            "test_gives_no_reason",
        )
    }
    result.stdout.fnmatch_lines(
        [
            "*completions left unplayed: {'the script': 1}",
            "*completions left unplayed: {\"the script for 'Bye'\": 1}",
            "*@pytest.mark.unconsumed_script needs a reason=",
        ],
        consecutive=False,
    )
    assert "its own failure" in result.stdout.str()
    reported = [line for line in result.outlines if line.startswith("E ") and "unplayed" in line]
    assert len(reported) == 4  # the failing test's leftover completion is not reported
