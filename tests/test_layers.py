"""Import hygiene: the arrows point into the core, and only the dashboard imports Textual.

Imports are read with ``ast``; relative ones (``from . import x``, ``from ..tui import y``) are
resolved against the importing module's package, so that they are checked too.
"""

import ast
from importlib.util import resolve_name
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


def _package(path: Path) -> str:
    """The dotted package a module file belongs to (an ``__init__.py`` is its own package)."""
    parts = ("cfdash", *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1])


def _imports_of(source: str, package: str) -> list[str]:
    """Every module ``source`` imports, relative imports made absolute against ``package``.

    ``from .x import y`` counts as importing ``package.x`` and ``package.x.y`` (``y`` may be a
    submodule); ``from . import x`` as importing ``package`` and ``package.x``.
    """
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                module = resolve_name("." * node.level + module, package)
            names.append(module)
            names.extend(f"{module}.{alias.name}" for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


def _imports(path: Path) -> list[str]:
    return _imports_of(path.read_text(), _package(path))


def _matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_relative_imports_are_resolved() -> None:
    source = "from . import views\nfrom ..tui import app\nfrom .wsclient import WSClient\n"
    names = _imports_of(source, "cfdash.client")
    assert "cfdash.client.views" in names
    assert "cfdash.tui" in names and "cfdash.tui.app" in names
    assert "cfdash.client.wsclient" in names
    assert _package(ROOT / "client" / "__init__.py") == "cfdash.client"
    assert _package(ROOT / "core" / "engine" / "book.py") == "cfdash.core.engine"
    assert any(_matches(n, "cfdash.tui") for n in names)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_point_one_way(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    for path in files:
        for name in _imports(path):
            bad = [p for p in FORBIDDEN[package] if _matches(name, p)]
            assert not bad, f"{path.relative_to(ROOT)} imports {name}"


def test_only_the_dashboard_imports_textual() -> None:
    for path in ROOT.rglob("*.py"):
        if "tui" in path.relative_to(ROOT).parts:
            continue
        assert not any(_matches(n, "textual") for n in _imports(path)), path
