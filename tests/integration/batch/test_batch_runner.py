"""Tasks files, the results file and the runner, on real files and a routed ScriptedEngine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harmony_agent import Agent
from harmony_agent.batch import BatchRunner, Check, ResultsFile, Status, Task, read_tasks
from harmony_agent.engines import ScriptedEngine
from harmony_agent.sandbox import Kernel, KernelPool, SandboxConfig
from harmony_agent.tools.python import PythonTool

from tests.fakes import final, python_call
from tests.integration.batch.runner import run_batch
from tests.integration.sandbox.kernels import FAST


def test_read_tasks_reports_bad_lines_and_keeps_the_rest(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    lines = [
        {"id": "a", "prompt": "p", "check": {"answer": "1"}},
        "{not json",
        {"id": "b"},
        {"id": "c", "prompt": "p", "extra": 1},
        {"id": "a", "prompt": "again"},
        {"id": "d", "prompt": "p", "files": ["missing.csv"]},
        {"id": "e", "prompt": "p", "check": {"regex": "("}},
        {"id": "f", "prompt": "p", "check": {}},
        "",
        {"id": 7, "prompt": "p", "files": ["data.csv"], "check": {"regex": "\\d+"}},
    ]
    path = tmp_path / "tasks.jsonl"
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    tasks, bad = read_tasks(path)
    assert [t.id for t in tasks] == ["a", "7"]
    assert tasks[1].files == (tmp_path / "data.csv",)
    assert [(b.line, b.message) for b in bad] == [
        (2, "not valid JSON (Expecting property name enclosed in double quotes at column 2)"),
        (3, "prompt: Field required"),
        (4, "extra: Extra inputs are not permitted"),
        (5, "id 'a' is already used on line 1"),
        (6, f"files: {tmp_path / 'missing.csv'} does not exist"),
        (
            7,
            "check.regex: Value error, invalid regular expression: missing ), unterminated subpattern at position 0",
        ),
        (8, "check: Value error, a check needs `answer`, `regex` or `python`"),
    ]


def test_results_file_drops_a_cut_off_last_line(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text('{"id": "a", "status": "passed"}\n{"id": "b", "stat', encoding="utf-8")
    results = ResultsFile(path)
    assert results.open() == {"a"}
    results.append({"id": "c", "status": "failed"})
    results.close()
    assert [json.loads(line)["id"] for line in path.read_text().splitlines()] == ["a", "c"]


async def test_runner_judges_tasks_concurrently_and_saves_each(tmp_path: Path) -> None:
    engine = ScriptedEngine.routed(
        {
            "task-pass": [final("42")],
            "task-fail": [final("41")],
            "task-regex": [final("The answer is 42.")],
            "task-nocheck": [final("ok")],
            "task-limit": [
                "<|channel|>commentary to=functions.nope <|constrain|>json<|message|>{}<|call|>"
            ],
            "task-engine": [],
        },
        token_delay=0.001,
    )
    agent = Agent(engine=engine, reasoning="low", max_turns=1)
    tasks = [
        Task(id="pass", prompt="task-pass", check=Check(answer="42")),
        Task(id="fail", prompt="task-fail", check=Check(answer="42")),
        Task(id="regex", prompt="task-regex", check=Check(regex=r"\b42\b")),
        Task(id="nocheck", prompt="task-nocheck"),
        Task(id="limit", prompt="task-limit", check=Check(answer="x")),
        Task(id="engine", prompt="task-engine", check=Check(answer="x")),
    ]
    results = ResultsFile(tmp_path / "out" / "results.jsonl")
    results.open()
    seen: list[str] = []
    runner = BatchRunner(
        agent,
        results,
        concurrency=4,
        traces_dir=tmp_path / "traces",
        on_finished=lambda outcome: seen.append(outcome.id),
    )
    await runner.run(tasks)
    results.close()
    records = {
        r["id"]: r
        for r in map(json.loads, (tmp_path / "out" / "results.jsonl").read_text().splitlines())
    }
    assert sorted(seen) == sorted(records) == sorted(t.id for t in tasks)
    status = {key: r["status"] for key, r in records.items()}
    assert status == {
        "pass": Status.PASSED,
        "fail": Status.FAILED,
        "regex": Status.PASSED,
        "nocheck": Status.DONE,
        "limit": Status.ERROR,
        "engine": Status.ERROR,
    }
    assert records["fail"]["checks"] == {"answer": False}
    assert records["limit"]["error_kind"] == "max_turns"
    assert records["engine"]["error_kind"] == "ScriptExhausted"
    assert records["pass"]["completion_tokens"] > 0
    assert (tmp_path / "traces" / "pass.jsonl").is_file()


async def test_results_hide_the_runs_secrets(tmp_path: Path) -> None:
    secret = "hunter2-the-engine-key"
    engine = ScriptedEngine.routed({"leak": [final(f"the key is {secret}, sk-{'a' * 20}")]})
    results = ResultsFile(tmp_path / "results.jsonl")
    results.open()
    runner = BatchRunner(Agent(engine=engine, reasoning="low"), results, secrets=[secret])
    await runner.run([Task(id=f"task {secret}", prompt="leak")])
    results.close()
    (record,) = map(json.loads, (tmp_path / "results.jsonl").read_text().splitlines())
    assert record["id"] == f"task {secret}"  # ids are the user's own, kept for resuming
    assert record["answer"] == "the key is [REDACTED], [REDACTED]"


async def test_python_checks_read_the_files_the_run_left_and_its_answer(tmp_path: Path) -> None:
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("1 2 3 4\n", encoding="utf-8")
    code = (
        "total = sum(int(x) for x in open('numbers.txt').read().split())\n"
        "open('total.txt', 'w').write(str(total))\ntotal"
    )
    engine = ScriptedEngine.routed(
        {
            "sum-ok": [python_call(code), final("10")],
            "sum-bad": [python_call(code), final("10")],
            "sum-vars": [python_call(code), final("10")],
            "no-python": [final("fine")],
        }
    )
    agent = Agent(
        engine=engine, reasoning="low", tools=[PythonTool(SandboxConfig(cell_timeout_s=20))]
    )
    tasks = [
        Task(
            id="ok",
            prompt="sum-ok",
            files=(numbers,),
            check=Check(
                answer="10",
                python="assert open('total.txt').read() == final_answer == '10'\nprint('checked')",
            ),
        ),
        Task(
            id="bad",
            prompt="sum-bad",
            files=(numbers,),
            check=Check(python="total = int(open('total.txt').read())\nassert total == 11, total"),
        ),
        Task(
            id="fresh",
            prompt="no-python",
            files=(numbers,),
            check=Check(
                python="import os\nassert sorted(os.listdir()) == ['numbers.txt']\n"
                "assert final_answer == 'fine'"
            ),
        ),
        Task(
            id="variables",
            prompt="sum-vars",
            files=(numbers,),
            check=Check(python="assert total == 10"),
        ),
    ]
    records = await run_batch(agent, tasks, tmp_path)
    assert records["ok"]["status"] == Status.PASSED
    assert records["ok"]["checks"] == {"answer": True, "python": True}
    assert records["ok"]["check_output"] == "checked"
    assert records["ok"]["tool_calls"] == 1
    assert records["bad"]["status"] == Status.FAILED
    assert (
        "AssertionError" in records["bad"]["check_output"]
        and "10" in records["bad"]["check_output"]
    )
    assert records["fresh"]["status"] == Status.PASSED, records["fresh"]["check_output"]
    assert records["variables"]["status"] == Status.FAILED, "the model's variables stay behind"
    assert "NameError" in records["variables"]["check_output"]


async def test_tasks_without_files_take_their_kernel_from_the_agents_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    acquired: list[Kernel] = []
    acquire = KernelPool.acquire

    async def counted(pool: KernelPool) -> Kernel:
        acquired.append(await acquire(pool))
        return acquired[-1]

    monkeypatch.setattr(KernelPool, "acquire", counted)
    (tmp_path / "data.txt").write_text("given", encoding="utf-8")
    code = "import os\nopen('seen', 'w').write(str(sorted(os.listdir('.'))))"
    scripts = {key: [python_call(code), final("ok")] for key in ("0", "1", "2", "file")}
    check = Check(python="print(open('seen').read())")
    tasks = [Task(id=str(n), prompt=str(n), check=check) for n in range(3)] + [
        Task(id="file", prompt="file", files=(tmp_path / "data.txt",), check=check)
    ]
    async with KernelPool(FAST, size=1, fork=True) as pool:
        agent = Agent(
            engine=ScriptedEngine.routed(scripts),
            reasoning="low",
            tools=[PythonTool(pool=pool)],
        )
        records = await run_batch(agent, tasks, tmp_path)
    assert len(acquired) == 3  # the task with a file of its own starts a kernel with it
    assert all(records[id]["status"] == Status.PASSED for id in records), records
    assert records["file"]["check_output"] == "['data.txt', 'seen']"
    assert records["0"]["check_output"] == "['seen']"
