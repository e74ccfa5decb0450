"""RFC 6455 end to end, against a real loopback server: the close code the client answers with
(echo, 1002, 1007, 1009), and the frames a server sends in the same write as its 101."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest
import websocket
from websockets.exceptions import ConnectionClosed

from cfdash.client import WSClient
from cfdash.client.wsclient import MAX_FRAME_BYTES
from cfdash.core.errors import ProtocolError

from .scripted_server import USD, XBT, RawServer, ScriptedServer

PAIR = {"base": XBT, "counter": USD}


def server_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """A server's (unmasked) frame, encoded by websocket-client."""
    return websocket.ABNF(fin=int(fin), opcode=opcode, mask_value=0, data=payload).format()


class Outcome:
    """A client connected to ``server``; what it sent and reported once the server wrote
    ``frame`` (raw bytes; or closed with ``code``)."""

    def __init__(
        self, server: ScriptedServer, make_client: Any, frame: bytes = b"", code: int = 0
    ) -> None:
        self.errors: list[object] = []
        self.closes: list[tuple[int | None, str | None]] = []
        self.texts: list[str] = []
        self.client = make_client(
            err_handler=lambda c, e: self.errors.append(e),
            close_handler=lambda c, status, reason: self.closes.append((status, reason)),
            msg_handler=lambda c, t: self.texts.append(t),
        )
        self.client.WatchTicker(**PAIR, watch=True).result(3)
        self.session = server.session()
        self.session.push({"notice": "Before"})
        server.wait_for(lambda: '{"notice": "Before"}' in self.texts)
        if code:
            self.session.close(code, "because")
        else:
            self.session.send_raw(frame)
            with contextlib.suppress(ConnectionClosed):  # the client may have hung up already
                self.session.push({"notice": "After"})  # never handled: that frame ends it
        self.answer = self.session.close_received()
        """The client's close frame: (code, reason)."""
        server.wait_for(lambda: self.closes)
        assert self.client.state == "disconnected" and len(self.closes) == 1
        assert '{"notice": "After"}' not in self.texts


def close_frame(payload: bytes) -> bytes:
    return server_frame(websocket.ABNF.OPCODE_CLOSE, payload)


@pytest.mark.parametrize("code", [1000, 1001, 1011, 1012, 3000, 4999])
def test_a_valid_close_code_is_echoed(server: ScriptedServer, make_client, code: int) -> None:
    out = Outcome(server, make_client, code=code)
    assert out.answer == (code, "")
    assert out.closes == [(code, "because")]
    assert out.errors == ([] if code == 1000 else [f"closed by server ({code})"])


def test_an_empty_close_is_answered_with_1000(server: ScriptedServer, make_client) -> None:
    out = Outcome(server, make_client, close_frame(b""))
    assert out.answer == (1000, "")
    assert out.closes == [(None, None)]  # no code: reported as before, as not a normal close
    assert out.errors == ["closed by server (None)"]


@pytest.mark.parametrize(
    "payload",
    [b"\x03\xed", b"\x03\xec", b"\x03\xee", b"\x00\x00", b"\x0b\xb7x", b"\x13\x88", b"\x03"],
    ids=["1005", "1004", "1006", "0", "2999", "5000", "1-byte"],
)
def test_a_close_code_that_may_not_be_sent_gets_1002(
    server: ScriptedServer, make_client, payload: bytes
) -> None:
    out = Outcome(server, make_client, close_frame(payload))
    assert out.answer == (1002, "")
    assert len(out.errors) == 1
    assert str(out.errors[0]).startswith("closed by server with a bad close frame: ")


def test_a_close_reason_that_is_not_utf8_gets_1007(server: ScriptedServer, make_client) -> None:
    out = Outcome(server, make_client, close_frame(b"\x03\xe9bad \xff"))
    assert out.answer == (1007, "")
    assert out.closes == [(1001, "bad \ufffd")]
    assert out.errors == ["closed by server with a bad close frame: the reason is not valid UTF-8"]


def test_a_text_message_that_is_not_utf8_fails_with_1007(
    server: ScriptedServer, make_client
) -> None:
    out = Outcome(server, make_client, server_frame(websocket.ABNF.OPCODE_TEXT, b'{"x":"\xff"}'))
    assert out.answer == (1007, "")
    assert out.closes == [(None, None)]
    assert isinstance(out.errors[0], ProtocolError) and "not valid UTF-8" in str(out.errors[0])


def test_an_oversized_message_gets_1009(server: ScriptedServer, make_client) -> None:
    size = MAX_FRAME_BYTES + 1  # refused from the header alone: no payload needs to follow
    out = Outcome(server, make_client, b"\x81\x7f" + size.to_bytes(8, "big"))
    assert out.answer == (1009, "")
    assert out.closes == [(None, None)]
    assert any(f"exceeds the {MAX_FRAME_BYTES} byte limit" in str(e) for e in out.errors)


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (b"\xc1\x00", "reserved bits"),
        (b"\x83\x00", "unknown opcode 0x3"),
        (b"\x8b\x00", "unknown opcode 0xb"),
        (b"\x09\x00", "fragmented or oversized control frame"),
        (b"\x89\x7e\x00\x7e" + bytes(126), "fragmented or oversized control frame"),
        (b"\x81\x81abcd\x00", "masked frame"),
        (b"\x80\x00", "continuation frame with no message"),
        (b"\x01\x00\x81\x00", "a new message began inside a fragmented one"),
    ],
    ids=[
        "rsv",
        "opcode-3",
        "opcode-b",
        "fragmented-ping",
        "long-ping",
        "masked",
        "stray-cont",
        "interleaved",
    ],
)
def test_a_breach_of_the_framing_gets_1002(
    server: ScriptedServer, make_client, frame: bytes, match: str
) -> None:
    out = Outcome(server, make_client, frame)
    assert out.answer == (1002, "")
    assert out.closes == [(None, None)]
    assert isinstance(out.errors[0], ProtocolError) and match in str(out.errors[0]), out.errors


def test_frames_sent_with_the_101_are_delivered() -> None:
    """The 101, a whole frame and half of the next in one write; the other half later."""
    welcome = json.dumps({"notice": "Welcome", "nonce": "AAAAAAAAAAAAAAAAAAAAAA=="})
    second = server_frame(websocket.ABNF.OPCODE_TEXT, b'{"notice":"Second"}')
    texts: list[str] = []
    both = threading.Event()

    def on_message(client: WSClient, text: str) -> None:
        texts.append(text)
        if len(texts) == 2:
            both.set()

    def script(conn: socket.socket, accept: bytes) -> None:
        first = server_frame(websocket.ABNF.OPCODE_TEXT, welcome.encode())
        conn.sendall(accept + first + second[:7])
        conn.recv(4096)  # the client's first command: it has read the 101 by now
        conn.sendall(second[7:])

    with RawServer(script) as raw:
        client = WSClient(raw.url, msg_handler=on_message, socket_timeout=1.5)
        try:
            client.WatchTicker(**PAIR, watch=True)  # connects; no reply will come
            assert both.wait(5), texts
            assert texts == [welcome, '{"notice":"Second"}']
            assert client.state == "connected"
        finally:
            client.stop()


def refused(script: Callable[[socket.socket, bytes], None]) -> str:
    """The error of a client whose handshake ``script`` answers (raised in the caller)."""
    with RawServer(script) as raw:
        client = WSClient(raw.url, socket_timeout=1.5)
        try:
            with pytest.raises(ConnectionError) as info:
                client.WatchTicker(**PAIR, watch=True)
            assert client.state == "disconnected"
        finally:
            client.stop()
    return str(info.value)


def test_a_wrong_accept_is_refused() -> None:
    def script(conn: socket.socket, accept: bytes) -> None:
        conn.sendall(accept.replace(b"Accept: ", b"Accept: x"))

    assert "Sec-WebSocket-Accept" in refused(script)


def test_a_non_101_status_is_refused() -> None:
    def script(conn: socket.socket, accept: bytes) -> None:
        conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")

    assert "Handshake status 503 Service Unavailable" in refused(script)


def test_a_redirect_is_followed(server: ScriptedServer) -> None:
    def script(conn: socket.socket, accept: bytes) -> None:
        conn.sendall(f"HTTP/1.1 302 Found\r\nLocation: {server.url}\r\n\r\n".encode())

    with RawServer(script) as raw:
        client = WSClient(raw.url, socket_timeout=1.5)
        try:
            assert client.WatchTicker(**PAIR, watch=True).result(3) is not None
            assert server.session().methods() == ["WatchTicker"]
        finally:
            client.stop()
