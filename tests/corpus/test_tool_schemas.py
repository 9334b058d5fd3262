"""What the model sees of real tool schemas that others wrote (`tool_schemas.jsonl`: MCP servers'
tool lists and BFCL's user-contributed functions; `collect_schemas.py` says how it was made).

- A schema that uses nothing harmony cannot render (`$ref`, `$defs`, `anyOf`, `const`, a
  title) reaches the model exactly as harmony's own renderer shows it: the developer message
  is token for token `DeveloperContent.with_function_tools` of the schema as published.
- Every property of every schema is shown by name, however deeply nested.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai_harmony as oh
from harmony_agent._harmony import SpecialToken, decode, render_preamble
from harmony_agent.tools import FunctionSpec

CORPUS = Path(__file__).with_name("tool_schemas.jsonl")
RECORDS: list[dict[str, Any]] = [json.loads(line) for line in CORPUS.read_text().splitlines()]
ENCODING = oh.load_harmony_encoding(oh.HarmonyEncodingName.HARMONY_GPT_OSS)
TRANSFORMED = frozenset({"$ref", "$defs", "definitions", "anyOf", "const", "title"})
"""The keywords that the model-facing schema rewrites (`harmony_agent._schema`)."""


def developer_message(record: dict[str, Any]) -> list[int]:
    """The developer message of an agent with this one function (and no instructions)."""
    function = FunctionSpec(record["name"], record["description"], record["parameters"])
    preamble = render_preamble(
        identity="You are ChatGPT, a large language model trained by OpenAI.",
        knowledge_cutoff="2024-06",
        current_date="2026-11-24",
        reasoning="low",
        builtin_tools=[],
        instructions=None,
        functions=[function],
    )
    second_start = preamble.index(SpecialToken.START.value, 1)
    return preamble[second_start:]


def harmony_developer_message(record: dict[str, Any]) -> list[int]:
    """harmony's own rendering of the function, its schema as published."""
    tool = oh.ToolDescription.new(record["name"], record["description"], record["parameters"])
    content = oh.DeveloperContent.new().with_function_tools([tool])
    return ENCODING.render(oh.Message.from_role_and_content(oh.Role.DEVELOPER, content))


def keywords(schema: Any) -> Iterator[str]:
    """Every keyword a schema uses, at every level (property names are not keywords)."""
    if isinstance(schema, list):
        for item in schema:
            yield from keywords(item)
    if not isinstance(schema, dict):
        return
    yield from schema
    for key in ("properties", "patternProperties", "$defs", "definitions"):
        if isinstance(schema.get(key), dict):
            for sub in schema[key].values():
                yield from keywords(sub)
    for key in ("items", "prefixItems", "additionalProperties", "anyOf", "oneOf", "allOf", "not"):
        yield from keywords(schema.get(key))


def shown_properties(schema: dict[str, Any]) -> set[str]:
    """The names of the properties that harmony shows: reachable from the root through
    `properties`, `items`, `anyOf`, `oneOf` and local references."""
    names: set[str] = set()
    followed: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item)
        if not isinstance(node, dict):
            return
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/") and ref not in followed:
            followed.add(ref)
            target: Any = schema
            for part in ref[2:].split("/"):
                target = target[part]
            visit(target)
        if isinstance(node.get("properties"), dict):
            names.update(node["properties"])
            for sub in node["properties"].values():
                visit(sub)
        for key in ("items", "anyOf", "oneOf"):
            visit(node.get(key))

    visit(schema)
    return names


def test_the_corpus_is_real_and_permissively_licensed() -> None:
    assert len(RECORDS) == 1301
    sources = {record["source"].split(" ")[0] for record in RECORDS}
    assert len([s for s in sources if s.startswith("npm:")]) == 31
    assert {record["license"] for record in RECORDS} == {"MIT", "Apache-2.0"}


def test_schemas_that_need_no_transform_render_as_harmony_renders_them() -> None:
    untransformed = [r for r in RECORDS if TRANSFORMED.isdisjoint(keywords(r["parameters"]))]
    differing = [
        record["source"]
        for record in untransformed
        if developer_message(record) != harmony_developer_message(record)
    ]
    assert differing == []
    assert len(untransformed) == 1264


def test_every_property_reaches_the_model() -> None:
    missing: list[str] = []
    for record in RECORDS:
        text = decode(developer_message(record))
        for name in shown_properties(record["parameters"]):
            if not re.search(rf"^ *{re.escape(name)}\??:", text, re.MULTILINE):
                missing.append(f"{record['source']} {record['name']}: {name}")
    assert missing == []
