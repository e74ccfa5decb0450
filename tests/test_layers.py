"""Import hygiene: the arrows point into the core, and only the dashboard imports Textual."""

import ast
from pathlib import Path

import pytest

import cfdash

ROOT = Path(cfdash.__file__).parent

# package -> prefixes it must never import
FORBIDDEN = {
    "core": (
        "cfdash.client",
        "cfdash.server",
        "cfdash.tui",
        "cfdash.cli",
        "textual",
        "websocket",
        "websockets",
        "socket",
        "threading",
        "asyncio",
        "sqlite3",
    ),
    "client": ("cfdash.server", "cfdash.tui", "cfdash.cli", "textual"),
    "server": ("cfdash.client", "cfdash.tui", "cfdash.cli", "textual"),
    "tui": ("cfdash.cli",),
}


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_point_one_way(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    for path in files:
        for name in _imports(path):
            bad = [p for p in FORBIDDEN[package] if name == p or name.startswith(p + ".")]
            assert not bad, f"{path.relative_to(ROOT)} imports {name}"


def test_only_the_dashboard_imports_textual():
    for path in ROOT.rglob("*.py"):
        if "tui" in path.relative_to(ROOT).parts:
            continue
        assert not any(n.startswith("textual") for n in _imports(path)), path
