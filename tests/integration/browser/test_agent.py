"""The browser in an agent run: search -> open -> find -> a final answer whose citation resolves."""

from __future__ import annotations

from harmony_agent import Agent, Citation
from harmony_agent._harmony import decode
from harmony_agent.engines import ScriptedEngine
from harmony_agent.tools.browser import Browser, BrowserConfig, SearxngConfig

from .calls import LOOPBACK
from .site import Site


def browser_call(function: str, arguments: str) -> str:
    return f"<|channel|>analysis to=browser.{function} code<|message|>{arguments}<|call|>"


async def test_search_open_find_and_cite(site: Site) -> None:
    engine = ScriptedEngine(
        [
            "<|channel|>analysis<|message|>Let me search.<|end|><|start|>assistant"
            + browser_call("search", '{"query": "largest tidal power plant", "topn": 3}'),
            browser_call("open", '{"id": 0, "cursor": 0}'),
            browser_call("find", '{"pattern": "Sihwa"}'),
            "<|channel|>final<|message|>The largest tidal plant is Sihwa Lake in South Korea, "
            "254 MW【1†L15】, operating since 2011【2†L1-L3】.<|return|>",
        ]
    )
    browser = Browser(BrowserConfig(search=SearxngConfig(url=site.url("/searxng")), fetch=LOOPBACK))
    agent = Agent(engine=engine, tools=[browser], reasoning="low", current_date="2026-11-24")

    result = await agent.arun("Which is the largest tidal power plant?")

    assert result.ok
    assert [call.error for call in result.tool_calls] == [None, None, None]
    assert [call.call.recipient for call in result.tool_calls] == [
        "browser.search",
        "browser.open",
        "browser.find",
    ]
    article = site.url("/article.html")
    title = "Tidal power in 2024 | Energy Notes"
    assert result.citations == (
        Citation("【1†L15】", article, title, (15, 15), "Sihwa Lake | South Korea | 254"),
        Citation(
            "【2†L1-L3】",
            article,
            f"Find results for text: `sihwa` in `{title}`",
            (1, 3),
            "for grid operators who need firm capacity. The largest plant, Sihwa Lake in \n"
            "South Korea, has an installed capacity of 254 MW and has operated since 2011.\n",
        ),
    )
    # The model read each view as a tool message, in the trained header order.
    last_prompt = decode(engine.prompts[-1])
    assert "<|start|>browser.open to=assistant<|channel|>analysis<|message|>[1] " + title in (
        last_prompt
    )
    assert "<|start|>browser.find to=assistant<|channel|>analysis<|message|>[2] Find results" in (
        last_prompt
    )
