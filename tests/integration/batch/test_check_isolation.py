"""Python checks run where the model's code cannot reach them: in a fresh sandbox that gets a
bounded copy of the files the run left (regular files and directories only), never a module
imported from them unless the check asks for it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from harmony_agent import Agent
from harmony_agent.batch import Check, Status, Task
from harmony_agent.engines import ScriptedEngine
from harmony_agent.tools.python import PythonTool

from tests.fakes import final, python_call
from tests.integration.batch.runner import run_batch
from tests.integration.sandbox.kernels import FAST

CONFIG = FAST.model_copy(update={"cell_timeout_s": 30.0})
"""The sandbox tests' small limits, with time for a cell that writes ten thousand files."""

FORGE = "get_ipython().input_transformers_post.append(lambda lines: ['pass'])"
"""Model code that turns every later cell of its kernel into `pass`."""


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
