"""Reading reply results whether ``parse_reply`` gives dicts or typed objects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def field(result: Any, name: str) -> Any:
    """``result[name]`` for a mapping, else ``result.name``."""
    return result[name] if isinstance(result, Mapping) else getattr(result, name)
