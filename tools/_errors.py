"""The root of harmony-agent's exception tree and `ConfigError`, which tools raise for bad
definitions and settings.

They live here rather than in `harmony_agent._errors` because imports go one way: tools never
import the agent. `harmony_agent` exports them with the rest of the tree.
"""

from __future__ import annotations

__all__ = ["ConfigError", "HarmonyAgentError"]


class HarmonyAgentError(Exception):
    """Base class of every exception harmony-agent raises on purpose."""


class ConfigError(HarmonyAgentError, ValueError):
    """Invalid settings: an agent option, a tool definition or a config file."""
