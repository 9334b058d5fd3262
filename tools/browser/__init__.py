"""The browser tool: search, open and find, with cursors, line citations and safe fetching.

```python
from harmony_agent.tools.browser import Browser, BrowserConfig, SearxngConfig

browser = Browser(BrowserConfig(search=SearxngConfig(url="http://localhost:8888")))
```

Views follow the gpt-oss reference browser the model was trained with; fetching goes through
an SSRF guard (on by default), with bounded redirects, size and time.
"""

from harmony_agent.tools.browser._backend import (
    PageFetcher,
    SearchBackend,
    SearchError,
    SearchResult,
)
from harmony_agent.tools.browser._brave import BraveBackend, BraveConfig
from harmony_agent.tools.browser._browser import Browser, estimate_tokens
from harmony_agent.tools.browser._citations import resolve_citations
from harmony_agent.tools.browser._config import (
    BrowserConfig,
    FetchConfig,
    GuardConfig,
    SearchConfig,
)
from harmony_agent.tools.browser._errors import Blocked, OpenError
from harmony_agent.tools.browser._exa import ExaBackend, ExaConfig
from harmony_agent.tools.browser._local_index import LocalIndexBackend, LocalIndexConfig
from harmony_agent.tools.browser._page import Page, PageKind
from harmony_agent.tools.browser._searxng import SearxngBackend, SearxngConfig
from harmony_agent.tools.browser._session import BrowserSession
from harmony_agent.tools.browser._state import BrowserState
from harmony_agent.tools.browser._view import TokenCounter

__all__ = [
    "Blocked",
    "BraveBackend",
    "BraveConfig",
    "Browser",
    "BrowserConfig",
    "BrowserSession",
    "BrowserState",
    "ExaBackend",
    "ExaConfig",
    "FetchConfig",
    "GuardConfig",
    "LocalIndexBackend",
    "LocalIndexConfig",
    "OpenError",
    "Page",
    "PageFetcher",
    "PageKind",
    "SearchBackend",
    "SearchConfig",
    "SearchError",
    "SearchResult",
    "SearxngBackend",
    "SearxngConfig",
    "TokenCounter",
    "estimate_tokens",
    "resolve_citations",
]
