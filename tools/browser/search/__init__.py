"""Where `browser.search` looks things up: the backend interface and the services it ships
with (SearXNG, Brave, Exa, and a local index), each with its settings.
"""

from harmony_agent.tools.browser.search._backend import (
    PageFetcher,
    SearchBackend,
    SearchError,
    SearchResult,
)
from harmony_agent.tools.browser.search._brave import BraveBackend, BraveConfig
from harmony_agent.tools.browser.search._config import SearchConfig
from harmony_agent.tools.browser.search._exa import ExaBackend, ExaConfig
from harmony_agent.tools.browser.search._local_index import LocalIndexBackend, LocalIndexConfig
from harmony_agent.tools.browser.search._searxng import SearxngBackend, SearxngConfig

__all__ = [
    "BraveBackend",
    "BraveConfig",
    "ExaBackend",
    "ExaConfig",
    "LocalIndexBackend",
    "LocalIndexConfig",
    "PageFetcher",
    "SearchBackend",
    "SearchConfig",
    "SearchError",
    "SearchResult",
    "SearxngBackend",
    "SearxngConfig",
]
