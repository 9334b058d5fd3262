"""The settings of one search backend, as a YAML agent config gives them."""

from __future__ import annotations

from typing import Annotated

from harmony_agent.tools.browser._search._brave import BraveConfig
from harmony_agent.tools.browser._search._exa import ExaConfig
from harmony_agent.tools.browser._search._local_index import LocalIndexConfig
from harmony_agent.tools.browser._search._searxng import SearxngConfig
from pydantic import Field

__all__ = ["SearchConfig"]

SearchConfig = Annotated[
    SearxngConfig | BraveConfig | ExaConfig | LocalIndexConfig, Field(discriminator="kind")
]
"""The settings of one search backend, told apart by `kind`."""
