"""Python checks run where the model's code cannot reach them: in a fresh sandbox that gets a
bounded copy of the files the run left (regular files and directories only), never a module
imported from them unless the check asks for it. Each test runs with checks as one-shot
programs and, as where the host cannot run those, in fresh kernels.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from harmony_agent import Agent
from harmony_agent.batch import Check, Status, Task
from harmony_agent.engines import ScriptedEngine
from harmony_agent.sandbox import IsolationUnavailable, ProgramResult, ProgramRunner
from harmony_agent.tools.python import PythonTool

from tests.fakes import final, python_call
from tests.integration.batch.runner import run_batch
from tests.integration.sandbox.kernels import FAST

CONFIG = FAST.model_copy(update={"cell_timeout_s": 30.0})
"""The sandbox tests' small limits, with time for a cell that writes ten thousand files."""

FORGE = "get_ipython().input_transformers_post.append(lambda lines: ['pass'])"
"""Model code that turns every later cell of its kernel into `pass`."""


@pytest.fixture(autouse=True, params=["programs", "kernels"])
def checks_in(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Where the checks run: one-shot programs, or kernels (one-shot programs made
    unavailable, as on a host without bubblewrap).
    """
    if request.param == "kernels":

        async def unavailable(runner: ProgramRunner) -> None:
            raise IsolationUnavailable("one-shot programs are off for this test")

        monkeypatch.setattr(ProgramRunner, "start", unavailable)
    yield request.param


def agent(scripts: dict[str, list[str]]) -> Agent:
    """An agent with python whose engine plays `scripts` (keyed by prompt)."""
    engine = ScriptedEngine.routed(scripts)
    return Agent(engine=engine, reasoning="low", tools=[PythonTool(CONFIG)])


async def test_a_kernel_rigged_by_the_model_cannot_pass_its_check(tmp_path: Path) -> None:
    scripts = {
        "task-forged": [python_call(FORGE), final("41")],
        "task-honest": [python_call(FORGE), final("42")],
        "task-wrong": [python_call(FORGE), final("41")],
    }
    tasks = [
        Task(id="forged", prompt="task-forged", check=Check(python="assert answer == 42")),
        Task(id="honest", prompt="task-honest", check=Check(python="assert final_answer == '42'")),
        Task(
            id="wrong",
            prompt="task-wrong",
            check=Check(python="assert final_answer == '42', final_answer"),
        ),
    ]
    records = await run_batch(agent(scripts), tasks, tmp_path)
    assert records["forged"]["status"] == Status.FAILED
    assert "NameError: name 'answer' is not defined" in records["forged"]["check_output"]
    assert records["honest"]["status"] == Status.PASSED, records["honest"]["check_output"]
    assert records["wrong"]["status"] == Status.FAILED
    assert "AssertionError: 41" in records["wrong"]["check_output"]


async def test_links_and_special_files_are_not_copied_for_the_check(tmp_path: Path) -> None:
    secret = tmp_path / "host"
    secret.mkdir()
    (secret / "secret.txt").write_text("TOPSECRET", encoding="utf-8")
    plant = "\n".join(
        [
            "import os, socket",
            "open('kept.txt', 'w').write('kept')",
            "os.mkdir('sub')",
            "open('sub/data.txt', 'w').write('data')",
            f"os.symlink({str(secret / 'secret.txt')!r}, 'secret.txt')",
            f"os.symlink({str(secret)!r}, 'host')",
            f"os.symlink({str(secret / 'secret.txt')!r}, 'sub/secret.txt')",
            "os.symlink('kept.txt', 'also_kept.txt')",
            "os.mkfifo('pipe')",
            "socket.socket(socket.AF_UNIX).bind('sock')",
            "sorted(os.listdir())",
        ]
    )
    check = (
        "import os\n"
        "found = sorted(os.path.join(r, n) for r, ds, fs in os.walk('.') for n in ds + fs)\n"
        "assert found == ['./kept.txt', './sub', './sub/data.txt'], found\n"
        "assert open('kept.txt').read() == 'kept' and open('sub/data.txt').read() == 'data'"
    )
    scripts = {"task-links": [python_call(plant), final("done")]}
    tasks = [Task(id="links", prompt="task-links", check=Check(python=check))]
    records = await run_batch(agent(scripts), tasks, tmp_path)
    record = records["links"]
    assert record["status"] == Status.PASSED, record["check_output"]
    assert record["check_output"] == "not copied for the check: 1 fifo, 1 socket, 4 symbolic links"


@pytest.mark.parametrize(
    ("plant", "reason"),
    [
        (
            "import os\nos.mkdir('many')\n"
            "for i in range(10_000):\n    open(f'many/{i}', 'w').close()",
            "holds more than 10,000 files and directories",
        ),
        (
            "import os\nos.makedirs('/'.join(['deep'] * 100))",
            "holds directories nested deeper than 64",
        ),
    ],
    ids=["many-files", "deep-tree"],
)
async def test_a_working_directory_past_the_copy_bounds_fails_its_check(
    tmp_path: Path, plant: str, reason: str
) -> None:
    scripts = {"task-bomb": [python_call(plant), final("done")]}
    tasks = [Task(id="bomb", prompt="task-bomb", check=Check(python="pass"))]
    record = (await run_batch(agent(scripts), tasks, tmp_path))["bomb"]
    assert record["status"] == Status.FAILED
    assert record["check_output"] == f"the check did not run: the working directory {reason}"


async def test_modules_the_model_left_are_imported_only_on_purpose(tmp_path: Path) -> None:
    plant = (
        "open('yaml.py', 'w').write('def safe_load(stream):\\n    return {\"x\": 1}\\n')\n"
        "open('out.yaml', 'w').write('x: 2\\n')\n"
        "open('helper.py', 'w').write('VALUE = 1\\n')"
    )
    scripts = {key: [python_call(plant), final("done")] for key in ("task-yaml", "task-helper")}
    tasks = [
        Task(
            id="yaml",
            prompt="task-yaml",
            check=Check(python="import yaml\nassert yaml.safe_load(open('out.yaml')) == {'x': 1}"),
        ),
        Task(
            id="helper",
            prompt="task-helper",
            check=Check(
                python="import sys\nsys.path.insert(0, '.')\nimport helper\nassert helper.VALUE == 1"
            ),
        ),
    ]
    records = await run_batch(agent(scripts), tasks, tmp_path)
    assert records["yaml"]["status"] == Status.FAILED, "the planted yaml.py was imported"
    assert "AssertionError" in records["yaml"]["check_output"]
    assert records["helper"]["status"] == Status.PASSED, records["helper"]["check_output"]


async def test_a_batch_checks_in_programs_of_one_runner_or_says_why_not(
    tmp_path: Path,
    checks_in: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    starts: list[ProgramRunner] = []
    runs: list[ProgramResult] = []
    start, run = ProgramRunner.start, ProgramRunner.run

    async def counted_start(runner: ProgramRunner) -> None:
        starts.append(runner)
        await start(runner)

    async def counted_run(runner: ProgramRunner, code: str, **options: object) -> ProgramResult:
        runs.append(await run(runner, code, **options))  # type: ignore[arg-type]
        return runs[-1]

    if checks_in == "programs":
        monkeypatch.setattr(ProgramRunner, "start", counted_start)
    monkeypatch.setattr(ProgramRunner, "run", counted_run)
    scripts = {
        f"task-{n}": [python_call(f"open('n', 'w').write('{n}')"), final(str(n))] for n in range(6)
    }
    check = "assert open('n').read() == final_answer\nassert int(final_answer) % 2 == 0, 'odd'"
    tasks = [Task(id=str(n), prompt=f"task-{n}", check=Check(python=check)) for n in range(6)]
    with caplog.at_level(logging.WARNING, logger="harmony_agent.batch"):
        records = await run_batch(agent(scripts), tasks, tmp_path)
    warnings = [r.getMessage() for r in caplog.records if "fresh kernel each" in r.getMessage()]
    statuses = [records[str(n)]["status"] for n in range(6)]
    assert statuses == [Status.PASSED, Status.FAILED] * 3
    if checks_in == "programs":
        assert len(starts) == 1 and len(runs) == 6  # one runner for the batch, a program each
        assert 'File "<check>", line 2, in <module>' in records["1"]["check_output"]
        assert "AssertionError: odd" in records["1"]["check_output"]
        assert "the check exited with status 1" in records["1"]["check_output"]
        assert warnings == []
    else:
        assert runs == []
        assert len(warnings) == 1 and "one-shot programs are off" in warnings[0]
