"""Server-to-client WebSocket frames (RFC 6455), parsed from the bytes of the stream (sans I/O).

The client reads its socket in large chunks and hands them to a ``FrameReader``, instead of
websocket-client's reader, which makes three ``recv`` calls per frame (header, length, payload):
on a firehose of small notices that is most of the time spent. Messages come out whole
(fragments reassembled), control frames as they arrive (also between two fragments).
"""

from __future__ import annotations

from cfdash.core.errors import ProtocolError

OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA
_CONTROL = frozenset({OP_CLOSE, OP_PING, OP_PONG})


class FrameTooLarge(ProtocolError):
    """An incoming message is bigger than the reader's limit: its connection is dropped."""


class FrameReader:
    """Feed it the bytes read from the socket; it returns the complete messages.

    ``feed(data)`` returns ``[(opcode, payload), ...]``: text and binary messages with their
    fragments joined, and control frames. A message whose size (counting its fragments so far)
    would pass ``max_size`` raises ``FrameTooLarge`` as soon as its frame header is read,
    before its payload is buffered; any other breach of the protocol (reserved bits, a masked
    frame, a fragmented or oversized control frame, an unknown opcode, a stray continuation)
    raises ``ProtocolError``. After an error the stream cannot be trusted: drop the connection.
    """

    __slots__ = ("_fragments", "_kept", "_need", "_opcode", "_rest", "_waiting", "max_size")

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._rest = b""
        self._need = 0  # bytes the frame begun in _rest needs in all (0: not known yet)
        self._waiting: list[bytes] = []  # chunks after _rest, until _need is reached
        self._opcode: int | None = None  # the first fragment's opcode, while one is open
        self._fragments: list[bytes] = []
        self._kept = 0  # bytes in _fragments

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        if self._need:  # a big frame arriving in pieces: join them once, when it is whole
            self._waiting.append(data)
            have = len(self._rest) + sum(map(len, self._waiting))
            if have < self._need:
                return []
            data = b"".join(self._waiting)
            self._waiting, self._need = [], 0
        buf = self._rest + data if self._rest else data
        end = len(buf)
        pos = 0
        out: list[tuple[int, bytes]] = []
        while end - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            length = b1 & 0x7F
            start = pos + 2
            if length == 126:
                if end - start < 2:
                    break
                length = int.from_bytes(buf[start : start + 2], "big")
                start += 2
            elif length == 127:
                if end - start < 8:
                    break
                length = int.from_bytes(buf[start : start + 8], "big")
                start += 8
            opcode = b0 & 0x0F
            if b0 & 0x70:
                raise ProtocolError("frame with reserved bits set (no extension was agreed)")
            if b1 & 0x80:
                raise ProtocolError("masked frame from the server")
            if opcode > 2:  # not data (0-2): control, or unknown (refused from the header)
                if opcode not in _CONTROL:
                    raise ProtocolError(f"unknown opcode {opcode:#x}")
                if not b0 & 0x80 or length > 125:
                    raise ProtocolError("fragmented or oversized control frame")
            elif (self._kept if opcode == OP_CONT else 0) + length > self.max_size:
                size = self._kept + length if opcode == OP_CONT else length
                raise FrameTooLarge(
                    f"incoming message of {size} bytes exceeds the {self.max_size} byte limit"
                )
            stop = start + length
            if stop > end:
                self._need = stop - pos
                break
            payload = buf[start:stop]
            pos = stop
            if opcode > 2:  # a control frame
                out.append((opcode, payload))
            elif opcode:  # text or binary
                if self._opcode is not None:
                    raise ProtocolError("a new message began inside a fragmented one")
                if b0 & 0x80:
                    out.append((opcode, payload))
                else:
                    self._opcode, self._fragments, self._kept = opcode, [payload], length
            else:  # OP_CONT
                if self._opcode is None:
                    raise ProtocolError("continuation frame with no message to continue")
                self._fragments.append(payload)
                self._kept += length
                if b0 & 0x80:
                    out.append((self._opcode, b"".join(self._fragments)))
                    self._opcode, self._fragments, self._kept = None, [], 0
        self._rest = buf[pos:] if pos < end else b""
        return out
