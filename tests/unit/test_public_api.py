"""The public surface is written down once, in the README's "Public API" table: each public
package's `__all__` is exactly its row, every public package has a row, and no name has two
homes.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {
    "agent": "harmony_agent",
    "tools": "harmony_agent.tools",
    "sandbox": "harmony_agent.sandbox",
}
ROW = re.compile(r"^\| `(?P<package>harmony_agent[\w.]*)` \| (?P<names>.*) \|$")


def documented() -> dict[str, list[str]]:
    """The README's table: package -> names, in the order written."""
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Public API", 1)[1]
    section = section.split("\n## ", 1)[0]
    rows = (ROW.match(line) for line in section.splitlines())
    return {row["package"]: re.findall(r"`([^`]+)`", row["names"]) for row in rows if row}


def public_packages() -> set[str]:
    """Every package of the distribution whose dotted name has no private part."""
    packages = set()
    for folder, name in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / folder).parts
            if not any(part.startswith("_") for part in parts):
                packages.add(".".join([name, *parts]))
    return packages


def test_every_public_package_is_documented() -> None:
    assert set(documented()) == public_packages()


def test_each_package_exports_exactly_its_row() -> None:
    for package, names in documented().items():
        module = importlib.import_module(package)
        assert sorted(module.__all__) == sorted(names), package
        assert all(hasattr(module, name) for name in names), package


def test_no_name_has_two_homes() -> None:
    homes: dict[str, str] = {}
    for package, names in documented().items():
        for name in names:
            assert name not in homes, f"{name} is exported by {homes[name]} and {package}"
            homes[name] = package
