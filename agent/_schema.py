"""The JSON Schema of a function's arguments (or of an answer) as the model sees it.

harmony renders JSON Schema as TypeScript and knows only part of the language.
`model_facing_schema` rewrites what it cannot render into what it can, and nothing else:

- `$ref`: a local reference (`#/$defs/X`, `#/definitions/X`, or any JSON pointer into the
  schema, as zod-to-json-schema writes for a schema it has seen before) is replaced by what
  it points to; the referring schema's own keywords (its description, its default) win. A
  reference back into a schema being inlined (recursion) becomes `{"type": "object"}`
  described by its name.
- `anyOf`: of plain types it becomes a list of types (`str | None`: `["string", "null"]`);
  of one schema and `null` (pydantic's Optional) that schema, the property's own keywords
  winning; any other becomes `oneOf`.
- `const` becomes a one-value `enum` (typed `string` for a string, so it shows as `"x"`).
- The titles pydantic writes go: the root's, an inlined definition's (a class name) and a
  property's title made from its name (`zip_code`: "Zip Code"); harmony would show each as a
  comment. A title written by hand stays.

Keywords are rewritten only where a schema stands: the keys of `properties`,
`patternProperties` and `$defs` are names, and values such as `default`, `enum` and `examples`
are data; both reach the model unchanged. Argument validation keeps using the original schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

__all__ = ["model_facing_schema"]

_NAMED_SCHEMAS = frozenset({"properties", "patternProperties", "dependentSchemas"})
_SUBSCHEMAS = frozenset(
    {
        "items",
        "prefixItems",
        "additionalItems",
        "additionalProperties",
        "unevaluatedItems",
        "unevaluatedProperties",
        "contains",
        "propertyNames",
        "not",
        "if",
        "then",
        "else",
        "allOf",
        "oneOf",
    }
)
_DEFINITIONS = frozenset({"$defs", "definitions"})


def model_facing_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Rewrites a JSON Schema into the part of the language harmony renders faithfully."""
    result: dict[str, Any] = _Rewriter(schema).schema(schema, frozenset(), schema.get("title"))
    return result


def _pydantic_title(name: str) -> str:
    """The title pydantic gives a field named `name` (`GenerateJsonSchema.get_title_from_name`)."""
    return name.title().replace("_", " ").strip()


class _Rewriter:
    """Rewrites the schemas of one document, resolving references against its root."""

    def __init__(self, root: Mapping[str, Any]) -> None:
        self._root = root

    def schema(self, node: Any, inlining: frozenset[str], generated_title: str | None) -> Any:
        """Rewrites one schema; a `title` equal to `generated_title` goes."""
        if not isinstance(node, Mapping):
            return node  # a boolean schema, or something harmony ignores anyway
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            return self._inline(ref, node, inlining, generated_title)
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _DEFINITIONS or (key == "title" and value == generated_title):
                continue
            if key == "anyOf" and isinstance(value, list):
                options = [self.schema(option, inlining, None) for option in value]
                out.update((k, v) for k, v in _merge_any_of(options).items() if k not in node)
            elif key == "const":
                if "type" not in node and isinstance(value, str):
                    out["type"] = "string"
                out["enum"] = [value]
            else:
                out[key] = self._keyword(key, value, inlining)
        return out

    def _keyword(self, key: str, value: Any, inlining: frozenset[str]) -> Any:
        if key in _NAMED_SCHEMAS and isinstance(value, Mapping):
            titled = key == "properties"
            return {
                name: self.schema(sub, inlining, _pydantic_title(name) if titled else None)
                for name, sub in value.items()
            }
        if key in _SUBSCHEMAS:
            if isinstance(value, list):
                return [self.schema(item, inlining, None) for item in value]
            return self.schema(value, inlining, None)
        return value

    def _inline(
        self,
        ref: str,
        node: Mapping[str, Any],
        inlining: frozenset[str],
        generated_title: str | None,
    ) -> Any:
        target = self._resolve(ref)
        if not isinstance(target, Mapping) or ref in inlining:
            name = ref.rsplit("/", 1)[-1]
            return {"type": "object", "description": node.get("description", name)}
        merged = {
            **{k: v for k, v in target.items() if k != "title"},
            **{k: v for k, v in node.items() if k != "$ref"},
        }
        return self.schema(merged, inlining | {ref}, generated_title)

    def _resolve(self, ref: str) -> Any:
        """What a local JSON pointer (`#/a/b`) points to in the root; None if nothing."""
        node: Any = self._root
        for part in ref.removeprefix("#").split("/")[1:]:
            step = unquote(part).replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and step in node:
                node = node[step]
            elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
                node = node[int(step)]
            else:
                return None
        return node


def _merge_any_of(options: list[Any]) -> dict[str, Any]:
    """What an `anyOf` of (rewritten) options becomes."""
    plain = all(
        isinstance(option, Mapping) and set(option) == {"type"} and isinstance(option["type"], str)
        for option in options
    )
    if plain:
        return {"type": [option["type"] for option in options]}
    non_null = [option for option in options if option != {"type": "null"}]
    if len(non_null) == 1 and isinstance(non_null[0], Mapping):
        return dict(non_null[0])
    return {"oneOf": options}
