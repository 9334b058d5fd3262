"""The README's client examples (the openai SDK, the Agents SDK) run as written against
`harmony-agent serve`, with the port of the test's server.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from agents import set_tracing_disabled

from tests.integration.server.conftest import API_KEY, Server, final, running_server, write_config
from tests.readme import python_blocks, run

README_URL = "http://127.0.0.1:8000/v1"
SCRIPTS = {
    "Paris": [final("It is 21 °C in Paris.")],
    "Oslo": [final("It is 3 °C in Oslo.")],
}


@pytest.fixture(scope="module")
def readme_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("readme")
    config = write_config(directory, SCRIPTS)
    with running_server(
        f"function-calling={config}",
        "--api-key",
        API_KEY,
        "--store",
        ":memory:",
        directory=directory,
    ) as server:
        yield server


def run_example(name: str, server: Server) -> dict[str, object]:
    block = python_blocks()[name]
    assert README_URL in block.code
    block = dataclasses.replace(block, code=block.code.replace(README_URL, server.v1))
    namespace: dict[str, object] = {"KEY": API_KEY}
    run(block, namespace)
    return namespace


def test_the_openai_sdk_example_runs(
    readme_server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    run_example("Serving over OpenAI's APIs #1", readme_server)
    assert capsys.readouterr().out == "It is 21 °C in Paris.\n"


def test_the_agents_sdk_example_runs(
    readme_server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    set_tracing_disabled(True)
    run_example("Serving over OpenAI's APIs #2", readme_server)
    assert capsys.readouterr().out == "It is 3 °C in Oslo.\n"


def test_the_readme_server_is_named_by_its_argument(readme_server: Server) -> None:
    assert Path(readme_server.log).read_text().startswith("Serving function-calling at")
