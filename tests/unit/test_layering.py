"""The import rules of the architecture, checked on the source: imports go one way (`sandbox`
knows nothing of tools or agents, `tools` may use `sandbox`, `agent` uses both), one module
imports `openai_harmony`, one `vllm`, one `mcp`, one `ray` and one the server's ASGI stack.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {
    "agent": "harmony_agent",
    "tools": "harmony_agent.tools",
    "sandbox": "harmony_agent.sandbox",
}
ALLOWED = {
    "sandbox": ("harmony_agent.sandbox",),
    "tools": ("harmony_agent.tools", "harmony_agent.sandbox"),
}


def package_of(path: Path) -> str:
    """The package a source file belongs to (for an `__init__.py`, its own)."""
    folder = path.relative_to(ROOT).parts[0]
    return ".".join([FOLDERS[folder], *path.relative_to(ROOT / folder).parent.parts])


def imported_modules(source: str, package: str) -> set[str]:
    """Every module `source` imports (and every name imported from one, which may be a
    module), relative imports resolved against `package`.
    """
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            modules.add(base)
            modules.update(f"{base}.{alias.name}" for alias in node.names)
    return modules


def imports(folder: str) -> list[tuple[Path, str]]:
    """(file, imported module) for every source file under `folder`."""
    return [
        (path, module)
        for path in sorted((ROOT / folder).rglob("*.py"))
        for module in imported_modules(path.read_text(encoding="utf-8"), package_of(path))
    ]


def within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == package or module.startswith(f"{package}.") for package in packages)


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_imports_go_one_way(folder: str) -> None:
    wrong = {
        f"{path.relative_to(ROOT)}: {module}"
        for path, module in imports(folder)
        if within(module, ("harmony_agent",)) and not within(module, ALLOWED[folder])
    }
    assert not wrong, f"{folder}/ imports what it may not: {sorted(wrong)}"


ENGINES_MAY_IMPORT = (
    "harmony_agent.engines",
    "harmony_agent._errors",
    "harmony_agent._harmony",
    "harmony_agent._redact",
)
"""Engines are tokens in, tokens out: they know the harmony vocabulary, the error tree and the
one redaction (their errors quote servers), nothing of tools, configuration or the tiny model.
"""


def test_engines_import_only_themselves_errors_and_harmony() -> None:
    wrong = {
        f"{path.relative_to(ROOT)}: {module}"
        for path, module in imports("agent/engines")
        if within(module, ("harmony_agent",))
        and module != "harmony_agent"  # the package a `from harmony_agent import _x` names
        and not within(module, ENGINES_MAY_IMPORT)
    }
    assert not wrong, f"engines import what they may not: {sorted(wrong)}"


@pytest.mark.parametrize(
    ("library", "owner"),
    [
        ("openai_harmony", "agent/_harmony.py"),
        ("vllm", "agent/engines/_vllm.py"),
        ("mcp", "tools/mcp/_sdk.py"),
        ("ray", "agent/batch/_ray.py"),
        ("fastapi", "agent/server/_app.py"),
        ("starlette", "agent/server/_app.py"),
    ],
)
def test_one_module_imports_each_library(library: str, owner: str) -> None:
    importers = {
        str(path.relative_to(ROOT))
        for folder in FOLDERS
        for path, module in imports(folder)
        if within(module, (library,))
    }
    assert importers == {owner}


def test_relative_and_absolute_imports_are_resolved() -> None:
    source = "import httpx\nfrom . import _guard\nfrom ..._errors import ConfigError\n"
    assert imported_modules(source, "harmony_agent.tools.browser") == {
        "httpx",
        "harmony_agent.tools.browser",
        "harmony_agent.tools.browser._guard",
        "harmony_agent._errors",
        "harmony_agent._errors.ConfigError",
    }
    assert not within("harmony_agent._errors", ALLOWED["tools"])
