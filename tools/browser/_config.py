"""The browser's settings: pydantic models that a YAML agent config embeds."""

from __future__ import annotations

from typing import Annotated

from harmony_agent.tools.browser._search._config import SearchConfig
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["BrowserConfig", "FetchConfig", "GuardConfig"]


class GuardConfig(BaseModel):
    """What the browser may fetch when the MODEL picks the URL (search APIs are not checked:
    the developer configures them). Addresses that are not globally routable are refused
    unless allowed here; link-local, multicast, reserved and cloud metadata addresses are
    always refused.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    allow_localhost: bool = Field(
        default=False,
        description="Allow loopback addresses (127.0.0.0/8, ::1): tests, a site on this host.",
    )
    allow_private_networks: bool = Field(
        default=False,
        description="Allow private addresses (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, "
        "the deprecated site-local fec0::/10, and other unicast addresses that are not "
        "globally routable) for intranet use.",
    )
    allowed_domains: tuple[str, ...] = Field(
        default=(),
        description="If set, only these domains and their subdomains may be opened.",
    )
    denied_domains: tuple[str, ...] = Field(
        default=(), description="Domains (with their subdomains) that may never be opened."
    )


class FetchConfig(BaseModel):
    """How pages are fetched."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_s: Annotated[float, Field(gt=0)] = Field(
        default=20.0,
        description="Seconds one `open` may spend on a page: fetching it, redirects included, "
        "and reading it (waiting for a free fetch slot or conversion worker is not counted).",
    )
    connect_timeout_s: Annotated[float, Field(gt=0)] = Field(
        default=10.0, description="Seconds to wait for a connection."
    )
    max_bytes: Annotated[int, Field(gt=0)] = Field(
        default=10_000_000,
        description="Largest response body accepted, as received and after each decoding; "
        "also the most characters of text a page may have.",
    )
    max_redirects: Annotated[int, Field(ge=0)] = Field(
        default=5, description="Redirects followed before giving up."
    )
    max_concurrent_fetches: Annotated[int, Field(gt=0)] = Field(
        default=8, description="Fetches in flight at once, over all runs sharing the browser."
    )
    user_agent: str | None = Field(
        default=None, description="User-Agent header; default: `harmony-agent/{version}`."
    )
    guard: GuardConfig = Field(default_factory=GuardConfig, description="The SSRF guard.")


class BrowserConfig(BaseModel):
    """Settings of the browser tool."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    search: SearchConfig | None = Field(
        default=None,
        description="The search backend (`kind`: searxng, brave, exa or local). Without one, "
        "`search` tells the model to open URLs directly.",
    )
    fetch: FetchConfig = Field(default_factory=FetchConfig, description="How pages are fetched.")
    view_tokens: Annotated[int, Field(gt=0)] = Field(
        default=1024,
        description="Tokens of page text one view shows when the model gives no `num_lines`.",
    )
    max_view_tokens: Annotated[int, Field(gt=0)] = Field(
        default=8192,
        description="The most tokens of page text one view shows when the model asks for "
        "more lines with `num_lines` (the view ends early; its scrollbar says where).",
    )
    max_search_results: Annotated[int, Field(gt=0)] = Field(
        default=20, description="Upper bound on `topn` for one search."
    )

    @model_validator(mode="after")
    def _views_fit(self) -> BrowserConfig:
        if self.max_view_tokens < self.view_tokens:
            raise ValueError(
                f"max_view_tokens ({self.max_view_tokens}) is below view_tokens "
                f"({self.view_tokens})"
            )
        return self
