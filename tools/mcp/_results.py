"""What the model reads of an MCP tool's result: text, structured content, images (saved to
a file and described), embedded resources and links; `isError` results become `ToolError`s.

The result is the server's word, so every part is checked for its shape and bounded: a part
of an unknown or malformed kind is described, never trusted.
"""

from __future__ import annotations

import base64
import binascii
import json
import mimetypes
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harmony_agent.tools._base import ToolError, ToolOutput

__all__ = ["MAX_TEXT_CHARS", "to_output"]

MAX_TEXT_CHARS = 200_000
"""Characters of text kept from one result (the run then cuts it to its token budget)."""
_MAX_FILE_BYTES = 32 * 1024 * 1024


def to_output(result: Mapping[str, Any], server: str, files_dir: Path) -> ToolOutput:
    """The `CallToolResult` JSON of `server`'s tool as a `ToolOutput`; images and binary
    resources are written under `files_dir`. Raises `ToolError` for an `isError` result.
    """
    content = result.get("content")
    parts: list[str] = []
    files: list[Path] = []
    for block in content if isinstance(content, list) else []:
        text, path = _block(block, files_dir)
        parts.append(text)
        if path is not None:
            files.append(path)
    structured = result.get("structuredContent")
    if structured is not None and not any(
        isinstance(b, dict) and b.get("type") == "text" for b in content or []
    ):
        parts.append(json.dumps(structured, ensure_ascii=False))
    text = _bounded("\n".join(parts))
    if result.get("isError") is True:
        raise ToolError(text or f"the MCP server {server!r} reported an error without a message")
    data: dict[str, Any] = {"mcp_server": server}
    if structured is not None:
        data["structured_content"] = structured
    return ToolOutput(text=text, files=tuple(files), data=data)


def _block(block: object, files_dir: Path) -> tuple[str, Path | None]:
    """One content block as text for the model, and the file it was saved to, if any."""
    if not isinstance(block, dict):
        return "[a content part of an unknown shape]", None
    kind = block.get("type")
    if kind == "text":
        return _text(block.get("text")), None
    if kind in ("image", "audio"):
        mime = _text(block.get("mimeType")) or "application/octet-stream"
        return _saved(kind, block.get("data"), mime, files_dir, None)
    if kind == "resource":
        return _resource(block.get("resource"), files_dir)
    if kind == "resource_link":
        name = _text(block.get("name"))
        return f"[resource link: {_text(block.get('uri'))}{f' ({name})' if name else ''}]", None
    return f"[a content part of the unknown type {_text(kind)[:40]!r}]", None


def _resource(resource: object, files_dir: Path) -> tuple[str, Path | None]:
    if not isinstance(resource, dict):
        return "[an embedded resource of an unknown shape]", None
    uri = _text(resource.get("uri"))
    if "text" in resource:
        return f"[resource {uri}]\n{_text(resource.get('text'))}", None
    mime = _text(resource.get("mimeType")) or "application/octet-stream"
    return _saved("resource", resource.get("blob"), mime, files_dir, uri)


def _saved(
    kind: str, data: object, mime: str, files_dir: Path, uri: str | None
) -> tuple[str, Path | None]:
    """Decodes base64 `data` into a file; describes it (or why it was not saved)."""
    what = f"{kind} {uri}" if uri else kind
    if not isinstance(data, str) or len(data) > _MAX_FILE_BYTES * 4 // 3 + 4:
        return f"[{what} ({mime}) not saved: missing or larger than {_MAX_FILE_BYTES} bytes]", None
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return f"[{what} ({mime}) not saved: its data is not base64]", None
    extension = mimetypes.guess_extension(mime.split(";")[0].strip()) or ".bin"
    files_dir.mkdir(parents=True, exist_ok=True)
    path = files_dir / f"{kind}-{uuid.uuid4().hex[:12]}{extension}"
    path.write_bytes(raw)
    return f"[{what} ({mime}, {len(raw)} bytes) saved as {path.name}]", path


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _bounded(text: str) -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    return f"{text[:MAX_TEXT_CHARS]}\n[... {len(text) - MAX_TEXT_CHARS} more characters cut]"
