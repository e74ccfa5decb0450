"""The seam to ``cfdash.core.messages``: frame decoding, command validation, reply parsing.

The client imports these four names from here, and nothing else of the message layer.
"""

from __future__ import annotations

from cfdash.core.messages import PUBLIC_METHODS, decode_frame, parse_reply, validate_command

__all__ = ["PUBLIC_METHODS", "decode_frame", "parse_reply", "validate_command"]
