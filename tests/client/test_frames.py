"""``FrameReader``: RFC 6455 frames from a byte stream cut anywhere, checked against
websocket-client's own frame encoder."""

from __future__ import annotations

import pytest
import websocket
from hypothesis import given
from hypothesis import strategies as st

from cfdash.client.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameReader,
    FrameTooLarge,
)
from cfdash.core.errors import ProtocolError


def frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """A server's (unmasked) frame, encoded by websocket-client."""
    abnf = websocket.ABNF(fin=int(fin), opcode=opcode, mask_value=0, data=payload)
    return abnf.format()


def messages_and_stream(draw: st.DrawFn) -> tuple[list[tuple[int, bytes]], bytes]:
    expected: list[tuple[int, bytes]] = []
    stream = b""
    for _ in range(draw(st.integers(0, 8))):
        opcode = draw(st.sampled_from([OP_TEXT, OP_BINARY]))
        # sizes around the 7-bit, 16-bit and 64-bit length encodings
        size = draw(st.sampled_from([0, 1, 125, 126, 127, 65535, 65536, 70000]))
        payload = bytes(i % 251 for i in range(size))
        cuts = sorted(draw(st.lists(st.integers(0, size), max_size=3)))
        parts = [payload[a:b] for a, b in zip([0, *cuts], [*cuts, size], strict=True)]
        for i, part in enumerate(parts):
            first, last = i == 0, i == len(parts) - 1
            stream += frame(opcode if first else OP_CONT, part, fin=last)
            if not last and draw(st.booleans()):  # a control frame between two fragments
                stream += frame(OP_PING, b"between")
                expected.append((OP_PING, b"between"))
        expected.append((opcode, payload))
    return expected, stream


@given(st.data())
@pytest.mark.slow
def test_messages_survive_any_cutting_of_the_stream(data: st.DataObject) -> None:
    expected, stream = data.draw(st.composite(messages_and_stream)())
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=20)))
    reader = FrameReader(max_size=1 << 20)
    got: list[tuple[int, bytes]] = []
    for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        got += reader.feed(stream[a:b])
    assert got == expected


def test_one_chunk_many_frames() -> None:
    reader = FrameReader(max_size=1000)
    chunk = b"".join(frame(OP_TEXT, f'{{"n":{i}}}'.encode()) for i in range(100))
    assert [p for _, p in reader.feed(chunk)] == [f'{{"n":{i}}}'.encode() for i in range(100)]
    assert reader.feed(frame(OP_PONG, b"7") + frame(OP_CLOSE, b"\x03\xe8bye")) == [
        (OP_PONG, b"7"),
        (OP_CLOSE, b"\x03\xe8bye"),
    ]


def test_a_big_message_is_refused_from_its_header_alone() -> None:
    reader = FrameReader(max_size=1000)
    header = frame(OP_TEXT, bytes(1001))[:4]  # 126 + a 16-bit length: no payload yet
    with pytest.raises(FrameTooLarge, match="1001 bytes exceeds the 1000 byte limit"):
        reader.feed(header)


def test_fragments_count_towards_the_limit() -> None:
    reader = FrameReader(max_size=1000)
    assert reader.feed(frame(OP_TEXT, bytes(600), fin=False)) == []
    with pytest.raises(FrameTooLarge, match="1200 bytes"):
        reader.feed(frame(OP_CONT, bytes(600))[:4])


def test_a_message_at_the_limit_is_whole() -> None:
    reader = FrameReader(max_size=1000)
    stream = frame(OP_BINARY, bytes(1000))
    got = [reader.feed(stream[i : i + 7]) for i in range(0, len(stream), 7)]
    assert [m for ms in got for m in ms] == [(OP_BINARY, bytes(1000))]


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (bytes([0xC1, 0x00]), "reserved bits"),
        (bytes([0x81, 0x80]) + bytes(4), "masked frame"),
        (bytes([0x09, 0x00]), "fragmented or oversized control"),
        (bytes([0x89, 126, 0, 200]) + bytes(200), "fragmented or oversized control"),
        (bytes([0x80, 0x00]), "continuation frame with no message"),
        (bytes([0x83, 0x00]), "unknown opcode 0x3"),
        (bytes([0x01, 0x01, 0x41, 0x81, 0x00]), "a new message began inside"),
    ],
)
def test_protocol_breaches_are_errors(raw: bytes, why: str) -> None:
    with pytest.raises(ProtocolError, match=why):
        FrameReader(max_size=1000).feed(raw)


@pytest.mark.parametrize("opcode", [0x3, 0x7, 0xB, 0xF])
def test_an_unknown_opcode_is_refused_from_its_header(opcode: int) -> None:
    """Not a wait for a payload that may never come, and not mistaken for a big message."""
    header = bytes([0x80 | opcode, 127]) + (5000).to_bytes(8, "big")  # no payload follows
    with pytest.raises(ProtocolError, match=f"unknown opcode {opcode:#x}") as info:
        FrameReader(max_size=1000).feed(header)
    assert not isinstance(info.value, FrameTooLarge)


def test_control_frames_between_fragments_of_every_kind() -> None:
    reader = FrameReader(max_size=1000)
    stream = frame(OP_TEXT, b"ab", fin=False) + frame(OP_PING, b"p") + frame(OP_PONG, b"q")
    stream += frame(OP_CONT, b"cd", fin=False) + frame(OP_CLOSE, b"\x03\xe8") + frame(OP_CONT, b"e")
    assert reader.feed(stream) == [
        (OP_PING, b"p"),
        (OP_PONG, b"q"),
        (OP_CLOSE, b"\x03\xe8"),
        (OP_TEXT, b"abcde"),
    ]
