"""The browser tool: search, open and find, with cursors, line citations and safe fetching.

```python
from harmony_agent.tools.browser import Browser, BrowserConfig, SearxngConfig

browser = Browser(BrowserConfig(search=SearxngConfig(url="http://localhost:8888")))
```

Views follow the gpt-oss reference browser the model was trained with; fetching goes through
an SSRF guard (on by default), with bounded redirects, size and time.
"""

from harmony_agent.tools.browser._browser import Browser, estimate_tokens
from harmony_agent.tools.browser._citations import resolve_citations
from harmony_agent.tools.browser._config import BrowserConfig, FetchConfig, GuardConfig
from harmony_agent.tools.browser._errors import Blocked, OpenError
from harmony_agent.tools.browser._page import Page, PageKind
from harmony_agent.tools.browser._session import BrowserSession
from harmony_agent.tools.browser._state import BrowserState
from harmony_agent.tools.browser._view import TokenCounter
from harmony_agent.tools.browser.search import (
    BraveBackend,
    BraveConfig,
    ExaBackend,
    ExaConfig,
    LocalIndexBackend,
    LocalIndexConfig,
    PageFetcher,
    SearchBackend,
    SearchConfig,
    SearchError,
    SearchResult,
    SearxngBackend,
    SearxngConfig,
)

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
