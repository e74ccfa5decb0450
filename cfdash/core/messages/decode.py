"""Frame decoding: one text frame into the JSON object it must hold.

Duplicate JSON keys are not detected by ``decode_frame`` (the last one wins, as in
``json.loads``).
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from ..errors import ProtocolError

__all__ = ["MAX_DEPTH", "decode_frame"]

MAX_DEPTH = 32
"""Deepest JSON nesting ``decode_frame`` accepts (a snapshot reply needs 3)."""


def _too_deep(message: dict[str, Any], text: str) -> bool:
    """Whether the decoded ``message`` nests arrays/objects deeper than ``MAX_DEPTH``.

    Only frames with more brackets than ``MAX_DEPTH`` are walked, level by level (no recursion):
    a 2000-order book snapshot costs well under a millisecond.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    level: list[Any] = [message]
    for _ in range(MAX_DEPTH):
        children: list[Any] = []
        for node in level:
            values = node.values() if node.__class__ is dict else node
            children.extend([v for v in values if v.__class__ is dict or v.__class__ is list])
        if not children:
            return False
        level = children
    return True


def _refuse_constant(name: str) -> NoReturn:
    raise ProtocolError(f"The frame contains the non-JSON constant {name}.")


def _finite_float(text: str) -> float:
    value = float(text)
    if value - value != 0.0:  # inf (NaN cannot come from a JSON number)
        raise ProtocolError("The frame holds a number too large for a float.")
    return value


_decoder = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


def decode_frame(text: str | bytes) -> dict[str, Any]:
    """Decode one text frame into the JSON object it must hold; ``ProtocolError`` otherwise.

    Refuses non-UTF-8 bytes, invalid JSON, NaN/Infinity, floats that overflow, integers longer
    than Python's digit limit, nesting deeper than ``MAX_DEPTH`` and anything but an object.
    """
    if isinstance(text, bytes | bytearray | memoryview):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("The frame is not valid UTF-8.") from None
    elif not isinstance(text, str):
        raise ProtocolError(f"A frame must be text, not {type(text).__name__}.")
    try:
        message = _decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"The frame is not valid JSON: {exc}.") from None
    except ValueError:  # an integer beyond Python's digit limit (its hint is not for clients)
        raise ProtocolError("The frame cannot be decoded: number too large.") from None
    except RecursionError:  # the C decoder guards its own recursion
        raise ProtocolError(f"The frame nests deeper than {MAX_DEPTH} levels.") from None
    if message.__class__ is not dict:
        raise ProtocolError(f"A frame must be a JSON object, not {type(message).__name__}.")
    if _too_deep(message, text):
        raise ProtocolError(f"The frame nests deeper than {MAX_DEPTH} levels.")
    return message
