"""Collects `tool_schemas.jsonl`: real tool schemas that others wrote, one JSON object a line.

The tests read the collected file and never run this script (no network, no node at test time).
Each line: `source` (registry, package, version and where in it), `license` (the package's),
`name`, `description` and `parameters` (the JSON Schema of the arguments), as published.

Sources:
- MCP servers published on npm (`SERVERS`): each is started with node over stdio and its tool
  list read with the `mcp` SDK (`tools/list`; credentials are dummies, no tool is called).
- BFCL, the Berkeley Function Calling Leaderboard (`bfcl-eval` on PyPI, Apache-2.0): the
  functions of its "live" categories, which users contributed from their own applications,
  converted with BFCL's own `convert_to_tool` into the JSON Schema it sends to an
  OpenAI-style API; one definition of each function name (the first).

To produce the file again (it was made with node 20, `mcp` 2.3.0 and `bfcl-eval` 2026.3.23):

    npm install --ignore-scripts --prefix DIR $(python tests/corpus/collect_schemas.py --packages)
    python tests/corpus/collect_schemas.py DIR > tests/corpus/tool_schemas.jsonl

Identical definitions (same name, description and schema) are kept once. A server that does not
start without its service (a database, a cloud account) is not in `SERVERS`.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import importlib.resources
import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

BFCL_CATEGORIES = (
    "live_simple",
    "live_multiple",
    "live_parallel",
    "live_parallel_multiple",
    "live_relevance",
    "live_irrelevance",
)
_LIST_TIMEOUT_S = 60


@dataclass(frozen=True)
class Server:
    """An MCP server on npm: its package and version, the script to run, its arguments and
    environment.
    """

    package: str
    version: str
    script: str
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)

    @property
    def spec(self) -> str:
        """What `npm install` takes."""
        return f"{self.package}@{self.version}"


_OFFICIAL = "@modelcontextprotocol/server-"
SERVERS = (
    Server(f"{_OFFICIAL}everything", "2026.1.26", "dist/index.js", ("stdio",)),
    Server(f"{_OFFICIAL}filesystem", "2026.1.14", "dist/index.js", ("/tmp",)),
    Server(f"{_OFFICIAL}memory", "2026.1.26", "dist/index.js"),
    Server(f"{_OFFICIAL}sequential-thinking", "2025.12.18", "dist/index.js"),
    Server(
        f"{_OFFICIAL}github",
        "2025.4.8",
        "dist/index.js",
        env={"GITHUB_PERSONAL_ACCESS_TOKEN": "x"},
    ),
    Server(
        f"{_OFFICIAL}gitlab",
        "2025.4.25",
        "dist/index.js",
        env={"GITLAB_PERSONAL_ACCESS_TOKEN": "x"},
    ),
    Server(
        f"{_OFFICIAL}slack",
        "2025.4.25",
        "dist/index.js",
        env={"SLACK_BOT_TOKEN": "x", "SLACK_TEAM_ID": "x"},
    ),
    Server(f"{_OFFICIAL}google-maps", "0.6.2", "dist/index.js", env={"GOOGLE_MAPS_API_KEY": "x"}),
    Server(f"{_OFFICIAL}brave-search", "0.6.2", "dist/index.js", env={"BRAVE_API_KEY": "x"}),
    Server(f"{_OFFICIAL}postgres", "0.6.2", "dist/index.js", ("postgresql://localhost/x",)),
    Server(f"{_OFFICIAL}puppeteer", "2025.5.12", "dist/index.js"),
    Server(f"{_OFFICIAL}everart", "0.6.2", "dist/index.js", env={"EVERART_API_KEY": "x"}),
    Server(
        f"{_OFFICIAL}aws-kb-retrieval",
        "0.6.2",
        "dist/index.js",
        env={"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_REGION": "us-east-1"},
    ),
    Server("@playwright/mcp", "0.0.83", "cli.js"),
    Server("chrome-devtools-mcp", "1.11.0", "build/src/bin/chrome-devtools-mcp.js"),
    Server("@upstash/context7-mcp", "4.1.1", "dist/index.js"),
    Server("@notionhq/notion-mcp-server", "2.5.2", "bin/cli.mjs", env={"NOTION_TOKEN": "x"}),
    Server("@circleci/mcp-server-circleci", "0.20.0", "dist/index.js", env={"CIRCLECI_TOKEN": "x"}),
    Server("mongodb-mcp-server", "3.0.4", "dist/esm/index.js"),
    Server("tavily-mcp", "0.2.22", "build/index.js", env={"TAVILY_API_KEY": "x"}),
    Server(
        "@zereight/mcp-gitlab",
        "2.1.64",
        "build/index.js",
        env={"GITLAB_PERSONAL_ACCESS_TOKEN": "x", "GITLAB_API_URL": "http://localhost/api/v4"},
    ),
    Server("firecrawl-mcp", "3.22.2", "dist/index.js", env={"FIRECRAWL_API_KEY": "x"}),
    Server("figma-developer-mcp", "0.13.2", "dist/bin.js", ("--stdio",), {"FIGMA_API_KEY": "x"}),
    Server("@executeautomation/playwright-mcp-server", "1.0.12", "dist/index.js"),
    Server("@antv/mcp-server-chart", "0.9.10", "build/index.js"),
    Server("@hubspot/mcp-server", "0.4.0", "dist/index.js", env={"PRIVATE_APP_ACCESS_TOKEN": "x"}),
    Server("@perplexity-ai/mcp-server", "1.2.1", "dist/index.js", env={"PERPLEXITY_API_KEY": "x"}),
    Server("@shortcut/mcp", "0.25.0", "dist/index.js", env={"SHORTCUT_API_TOKEN": "x"}),
    Server("@wonderwhy-er/desktop-commander", "0.2.52", "dist/index.js"),
    Server("mcp-server-kubernetes", "4.1.7", "dist/index.js"),
    Server("@eslint/mcp", "0.3.13", "src/mcp-cli.js"),
)


def _package_json(modules: Path, package: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((modules / package / "package.json").read_text())
    return data


async def _server_tools(modules: Path, server: Server, log: TextIO) -> list[dict[str, Any]]:
    meta = _package_json(modules, server.package)
    source = f"npm:{meta['name']}@{meta['version']} tools/list"
    parameters = StdioServerParameters(
        command="node",
        args=[str(modules / server.package / server.script), *server.args],
        env={"PATH": os.environ["PATH"], "HOME": os.environ["HOME"], **server.env},
        cwd="/",  # some servers name their working directory in a description
    )
    async with (
        asyncio.timeout(_LIST_TIMEOUT_S),
        stdio_client(parameters, errlog=log) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        listed = await session.list_tools()
    return [
        {
            "source": source,
            "license": str(meta.get("license")),
            "name": tool.name,
            "description": tool.description or "",
            "parameters": tool.input_schema,
        }
        for tool in listed.tools
    ]


def _mcp_records(modules: Path) -> Iterator[dict[str, Any]]:
    with open(os.devnull, "w") as quiet:  # what the servers log
        for server in SERVERS:
            try:
                records = asyncio.run(_server_tools(modules, server, quiet))
            except Exception as error:  # a server that cannot start here is left out, and said so
                print(f"{server.package}: left out ({type(error).__name__})", file=sys.stderr)
                continue
            print(f"{server.package}: {len(records)} tools", file=sys.stderr)
            yield from records


def _bfcl_records() -> Iterator[dict[str, Any]]:
    utils = importlib.import_module("bfcl_eval.model_handler.utils")
    enums = importlib.import_module("bfcl_eval.constants.enums")
    mappings = importlib.import_module("bfcl_eval.constants.type_mappings")
    data = importlib.resources.files("bfcl_eval").joinpath("data")
    version = importlib.metadata.version("bfcl-eval")
    names: set[str] = set()
    for category in BFCL_CATEGORIES:
        file = f"BFCL_v4_{category}.json"
        for line in data.joinpath(file).read_text().splitlines():
            entry = json.loads(line)
            tools = utils.convert_to_tool(
                entry["function"], mappings.GORILLA_TO_OPENAPI, enums.ModelStyle.OSSMODEL
            )
            for tool in tools:
                if tool["name"] in names:
                    continue
                names.add(tool["name"])
                yield {
                    "source": f"pypi:bfcl-eval@{version} {file} {entry['id']}",
                    "license": "Apache-2.0",
                    "name": tool["name"],
                    "description": tool.get("description", ""),
                    "parameters": tool["parameters"],
                }


def main(argv: Sequence[str]) -> None:
    """Prints the corpus as JSONL; `argv[0]` is the npm prefix the servers are installed in.
    With `--packages`, prints what to install there instead.
    """
    if argv[0] == "--packages":
        print(" ".join(server.spec for server in SERVERS))
        return
    modules = Path(argv[0]) / "node_modules"
    seen: set[str] = set()
    for record in [*_mcp_records(modules), *_bfcl_records()]:
        key = json.dumps([record["name"], record["description"], record["parameters"]])
        if key not in seen:
            seen.add(key)
            print(json.dumps(record, ensure_ascii=False, separators=(",", ":")))


if __name__ == "__main__":
    main(sys.argv[1:])
