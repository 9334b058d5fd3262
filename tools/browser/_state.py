"""The pages of one run, by cursor: what the browser session keeps and the trace records."""

from __future__ import annotations

from typing import Any

from harmony_agent.tools._base import ToolError
from harmony_agent.tools.browser._page import Page
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

__all__ = ["BrowserState"]


class BrowserState(BaseModel):
    """Every view the model was shown gets a cursor; `cursors[c]` indexes the page shown at c.

    Scrolling shows the same page again under a new cursor, so a page is stored once however
    often it is shown. `snapshot()` is JSON-able; `BrowserState.model_validate(snapshot)`
    restores it.
    """

    model_config = ConfigDict(extra="forbid")

    pages: list[Page] = Field(default_factory=list)
    cursors: list[int] = Field(default_factory=list)
    _stored: dict[int, int] = PrivateAttr(default_factory=dict)

    def page(self, cursor: int = -1) -> Page:
        """The page at `cursor` (-1: the latest); a `ToolError` names the valid range."""
        if not self.cursors:
            raise ToolError("No pages to access! Use `search` or `open` a URL first.")
        if cursor == -1:
            cursor = len(self.cursors) - 1
        if not 0 <= cursor < len(self.cursors):
            raise ToolError(
                f"Cursor `{cursor}` is out of range. "
                f"Available cursor indices: [0 - {len(self.cursors) - 1}]."
            )
        return self.pages[self.cursors[cursor]]

    def push(self, page: Page) -> int:
        """Shows `page` under a new cursor, which it returns."""
        index = self._stored.get(id(page))
        if index is None or self.pages[index] is not page:
            index = len(self.pages)
            self.pages.append(page)
            self._stored[id(page)] = index
        self.cursors.append(index)
        return len(self.cursors) - 1

    def pop(self) -> None:
        """Takes back the latest cursor (its view could not be shown)."""
        self.cursors.pop()

    def snapshot(self) -> dict[str, Any]:
        """The state as JSON-able data, for the run's trace."""
        return self.model_dump(mode="json")
