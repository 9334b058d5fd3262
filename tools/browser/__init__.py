"""The browser tool: search, open and find, with cursors, line citations and safe fetching.

```python
from harmony_agent.tools.browser import Browser, BrowserConfig, SearxngConfig

browser = Browser(BrowserConfig(search=SearxngConfig(url="http://localhost:8888")))
```

Views follow the gpt-oss reference browser the model was trained with; fetching goes through
an SSRF guard (on by default), with bounded redirects, size and time.
"""

from harmony_agent.tools.browser._browser import Browser
from harmony_agent.tools.browser._config import BrowserConfig, FetchConfig, GuardConfig
from harmony_agent.tools.browser._search._backend import PageFetcher, SearchBackend, SearchResult
from harmony_agent.tools.browser._search._brave import BraveConfig
from harmony_agent.tools.browser._search._config import SearchConfig
from harmony_agent.tools.browser._search._exa import ExaConfig
from harmony_agent.tools.browser._search._local_index import LocalIndexConfig
from harmony_agent.tools.browser._search._searxng import SearxngConfig

__all__ = [
    "BraveConfig",
    "Browser",
    "BrowserConfig",
    "ExaConfig",
    "FetchConfig",
    "GuardConfig",
    "LocalIndexConfig",
    "PageFetcher",
    "SearchBackend",
    "SearchConfig",
    "SearchResult",
    "SearxngConfig",
]
