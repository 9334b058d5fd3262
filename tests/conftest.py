"""Fixtures of every test: each ScriptedEngine a test creates must play its whole script."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

import pytest
from harmony_agent.engines import ScriptedEngine

pytest_plugins = ["pytester"]

_CALL_PASSED = pytest.StashKey[bool]()

UNCONSUMED_SCRIPT = "unconsumed_script"
"""The marker of a test that leaves a script unplayed on purpose; its `reason` says why."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{UNCONSUMED_SCRIPT}(reason): the test leaves completions of a ScriptedEngine unplayed "
        "on purpose (the reason says why); without it every script must be played to its end",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remembers whether the test itself passed: a failed test's leftover script is no news."""
    report = yield
    if report.when == "call":
        item.stash[_CALL_PASSED] = report.passed
    return report


@pytest.fixture(autouse=True)
def scripts_are_consumed(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Fails a passing test that left completions of a ScriptedEngine it created unplayed
    (a script longer than what the test exercises hides a loop that stopped early).

    Engines created by the test and its function-scoped fixtures count, those of a module- or
    session-scoped fixture do not. A test that leaves a script unplayed on purpose says so
    with `@pytest.mark.unconsumed_script(reason=...)`.
    """
    marker = request.node.get_closest_marker(UNCONSUMED_SCRIPT)
    if marker is not None:
        if not marker.kwargs.get("reason"):
            pytest.fail(f"@pytest.mark.{UNCONSUMED_SCRIPT} needs a reason=")
        yield
        return
    created: list[ScriptedEngine] = []
    init = ScriptedEngine.__init__

    def recording_init(self: ScriptedEngine, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        created.append(self)

    monkeypatch.setattr(ScriptedEngine, "__init__", recording_init)
    yield
    if request.node.stash.get(_CALL_PASSED, False):
        unplayed = []
        for engine in created:
            try:
                engine.assert_consumed()
            except AssertionError as error:
                unplayed.append(str(error))
        if unplayed:
            raise AssertionError("; ".join(unplayed))
