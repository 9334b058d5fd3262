"""Training the tiny checkpoint from runs of the real agent loop, as the shipped one was
trained: the recipe still makes a model that reproduces runs it never saw.

Minutes on a CPU the first time; cached by the recipe's fingerprint in the user's cache.
"""

from __future__ import annotations

from harmony_agent.tiny import build_checkpoint
from harmony_agent.tiny._tasks import ProductTask, WeatherTask
from harmony_agent.tools import BuiltinTool


def test_a_checkpoint_trained_here_reproduces_held_out_runs(python_tool: BuiltinTool) -> None:
    trained = build_checkpoint(python=python_tool.namespace, train=True, tokenizer=False)

    assert trained.path.name.startswith("trained-")
    assert trained.train_accuracy >= 0.9
    assert trained.held_out_accuracy >= 0.5
    assert {type(task) for task in trained.verified} == {WeatherTask, ProductTask}
