"""The closing handshake of RFC 6455 (sections 5.5.1, 7.1.5, 7.4), sans I/O.

``parse_close`` reads a close frame from the server and says what to answer;
``close_payload`` builds the client's own; ``failure_code`` is the code the client sends when
it fails the connection because of ``exc``.

Codes the client answers with:

* the server's own code, echoed, when its close frame is valid (1000 for an empty one);
* 1002 (protocol error) for a 1-byte payload, a code that may not be sent on the wire
  (below 1000, 1004-1006, 1015, 1016-2999, above 4999), and any breach of the framing;
* 1007 (invalid data) for a close reason, or a text message, that is not valid UTF-8
  (Autobahn accepts 1002 or 1007 for a bad reason: 1007 says more);
* 1009 (message too big) for a message over the client's size limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from cfdash.core.errors import ProtocolError

from .frames import FrameTooLarge

NORMAL: Final = 1000
PROTOCOL_ERROR: Final = 1002
INVALID_DATA: Final = 1007
TOO_BIG: Final = 1009
MAX_REASON_BYTES: Final = 123
"""A control frame's payload is at most 125 bytes: 2 for the code, the rest for the reason."""


class InvalidUTF8(ProtocolError):
    """A text message (or a close reason) is not valid UTF-8: the connection fails with 1007."""


def valid_code(code: int) -> bool:
    """Whether ``code`` may appear in a close frame on the wire (RFC 6455 7.4.1, 7.4.2).

    1012-1014 (service restart, try again later, bad gateway) were registered with IANA after
    the RFC and are commonly accepted; 1004 is reserved, and 1005, 1006 and 1015 are for
    reporting only: an endpoint must never send them.
    """
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


@dataclass(frozen=True, slots=True)
class PeerClose:
    """A close frame received from the server, and the answer it calls for."""

    code: int | None
    """The code on the wire; None for an empty (or a 1-byte) payload."""
    reason: str | None
    """The reason (any invalid UTF-8 replaced); None when there is no code."""
    reply: int
    """The code to send back."""
    error: str | None = None
    """What is wrong with the frame; None when it is valid."""

    def outcome(self, stopping: bool) -> str | None:
        """Why the connection ended, or None for a normal close (or one the client asked for)."""
        if stopping:
            return None
        if self.error is not None:
            return f"closed by server with a bad close frame: {self.error}"
        if self.code == NORMAL:
            return None
        return f"closed by server ({self.code})"


def parse_close(payload: bytes) -> PeerClose:
    """Validate a close frame's payload (a code, then a UTF-8 reason; or nothing at all)."""
    if not payload:
        return PeerClose(None, None, NORMAL)
    if len(payload) == 1:
        return PeerClose(None, None, PROTOCOL_ERROR, "a 1-byte payload (a code has 2)")
    code = int.from_bytes(payload[:2], "big")
    raw = payload[2:]
    try:
        reason = raw.decode("utf-8")
    except UnicodeDecodeError:
        reason = None
    if not valid_code(code):  # checked first: the code comes first on the wire
        text = raw.decode("utf-8", "replace") if reason is None else reason
        return PeerClose(code, text, PROTOCOL_ERROR, f"code {code} may not be sent")
    if reason is None:
        text = raw.decode("utf-8", "replace")
        return PeerClose(code, text, INVALID_DATA, "the reason is not valid UTF-8")
    return PeerClose(code, reason, code)


def close_payload(code: int = NORMAL, reason: str = "") -> bytes:
    """A close frame's payload: the code, then the reason cut to fit (on a UTF-8 boundary)."""
    if not 0 <= code <= 0xFFFF:
        raise ValueError(f"close code {code} does not fit in 2 bytes")
    data = reason.encode("utf-8")[:MAX_REASON_BYTES]
    return code.to_bytes(2, "big") + data.decode("utf-8", "ignore").encode("utf-8")


def failure_code(exc: BaseException) -> int:
    """The close code for failing the connection because of ``exc`` (raised while reading)."""
    if isinstance(exc, FrameTooLarge):
        return TOO_BIG
    if isinstance(exc, InvalidUTF8):
        return INVALID_DATA
    return PROTOCOL_ERROR
