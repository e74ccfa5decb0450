"""Import hygiene in a fresh interpreter, harlequin-style: what importing a layer drags in.

``import cfdash`` stays cheap (``cfdash --help`` pays for no websocket, ecdsa or Textual), the
client library never loads Textual, and the sans-I/O core loads no Textual and no WebSocket
library, not even when every one of its modules is imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import cfdash

REPO = Path(cfdash.__file__).parent.parent

EVERY_MODULE = """
import importlib, pkgutil
package = importlib.import_module({name!r})
for info in pkgutil.walk_packages(package.__path__, {name!r} + "."):
    importlib.import_module(info.name)
"""


def loaded_after(code: str) -> set[str]:
    """The top-level names in ``sys.modules`` after running ``code`` in a new interpreter
    (started in the repository, so that this checkout's ``cfdash`` is the one imported)."""
    report = "import json, sys, cfdash\nprint(json.dumps([cfdash.__file__, sorted(sys.modules)]))"
    script = f"{code}\n{report}"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    where, modules = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(where) == Path(cfdash.__file__)
    return {name.partition(".")[0] for name in modules}


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("cfdash", {"textual", "websocket", "websockets", "ecdsa"}),
        ("cfdash.client", {"textual"}),
        ("cfdash.core", {"textual", "websocket", "websockets"}),
    ],
)
def test_importing_a_layer_loads_only_what_it_needs(module: str, forbidden: set[str]) -> None:
    assert loaded_after(f"import {module}") & forbidden == set()


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("cfdash.core", {"textual", "websocket", "websockets"}),
        ("cfdash.client", {"textual", "websockets"}),
        ("cfdash.server", {"textual", "websocket"}),
    ],
)
def test_every_module_of_a_layer_keeps_out_the_others(package: str, forbidden: set[str]) -> None:
    assert loaded_after(EVERY_MODULE.format(name=package)) & forbidden == set()


def test_the_check_sees_what_is_loaded() -> None:
    """The probe is not blind: the client does load websocket-client and ecdsa."""
    assert {"websocket", "ecdsa"} <= loaded_after("import cfdash.client")
