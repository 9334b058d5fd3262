"""The root of harmony-agent's exception tree and `ConfigError`, which tools raise for bad
definitions and settings.

Both are defined in `harmony_agent.sandbox._errors`, the bottom layer, because imports go one
way and the sandbox raises them too; tools import them from here. `harmony_agent` exports them
with the rest of the tree.
"""

from __future__ import annotations

from harmony_agent.sandbox._errors import ConfigError, HarmonyAgentError

__all__ = ["ConfigError", "HarmonyAgentError"]
