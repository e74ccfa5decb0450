"""RFC 6455 end to end, against a real loopback server: the close code the client answers with
(echo, 1002, 1007, 1009), and the frames a server sends in the same write as its 101."""

from __future__ import annotations

import json
import socket
import threading

import pytest
import websocket

from cfdash.client import WSClient
from cfdash.client.wsclient import MAX_FRAME_BYTES
from cfdash.core.errors import ProtocolError

from .scripted_server import USD, XBT, RawServer, ScriptedServer

PAIR = {"base": XBT, "counter": USD}


def server_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """A server's (unmasked) frame, encoded by websocket-client."""
    return websocket.ABNF(fin=int(fin), opcode=opcode, mask_value=0, data=payload).format()


def connected(make_client, **handlers):  # type: ignore[no-untyped-def]
    errors: list[object] = []
    closes: list[tuple[int | None, str | None]] = []
    client = make_client(
        err_handler=lambda c, e: errors.append(e),
        close_handler=lambda c, status, reason: closes.append((status, reason)),
        **handlers,
    )
    client.WatchTicker(**PAIR, watch=True).result(3)
    return client, errors, closes


@pytest.mark.parametrize(("code", "reason"), [(1001, "going away"), (4000, ""), (1000, "bye")])
def test_a_valid_close_code_is_echoed(server: ScriptedServer, make_client, code, reason) -> None:
    client, errors, closes = connected(make_client)
    session = server.session()
    session.close(code, reason)
    assert session.close_received() == (code, "")
    server.wait_for(lambda: closes)
    assert closes == [(code, reason)]
    assert errors == ([] if code == 1000 else [f"closed by server ({code})"])
    assert client.state == "disconnected"


def test_an_empty_close_is_answered_with_1000(server: ScriptedServer, make_client) -> None:
    client, errors, closes = connected(make_client)
    session = server.session()
    session.send_raw(server_frame(websocket.ABNF.OPCODE_CLOSE, b""))
    assert session.close_received() == (1000, "")
    server.wait_for(lambda: closes)
    assert closes == [(None, None)]  # no code: reported as before, as not a normal close
    assert errors == ["closed by server (None)"] and client.state == "disconnected"


@pytest.mark.parametrize(
    "payload",
    [b"\x03\xed", b"\x03\xec", b"\x00\x00", b"\x0b\xb7x", b"\x03"],
    ids=["1005", "1004", "0", "2999", "1-byte"],
)
def test_a_close_code_that_may_not_be_sent_gets_1002(
    server: ScriptedServer, make_client, payload: bytes
) -> None:
    """1005 and 1004 on the wire, 0, 2999 and a 1-byte payload."""
    client, errors, closes = connected(make_client)
    session = server.session()
    session.send_raw(server_frame(websocket.ABNF.OPCODE_CLOSE, payload))
    assert session.close_received() == (1002, "")
    server.wait_for(lambda: closes)
    assert len(errors) == 1 and "closed by server with a bad close frame" in str(errors[0])
    assert client.state == "disconnected"


def test_a_close_reason_that_is_not_utf8_gets_1007(server: ScriptedServer, make_client) -> None:
    client, errors, closes = connected(make_client)
    session = server.session()
    session.send_raw(server_frame(websocket.ABNF.OPCODE_CLOSE, b"\x03\xe9bad \xff"))
    assert session.close_received() == (1007, "")
    server.wait_for(lambda: closes)
    assert closes == [(1001, "bad \ufffd")]
    assert errors == ["closed by server with a bad close frame: the reason is not valid UTF-8"]
    assert client.state == "disconnected"


def test_a_text_message_that_is_not_utf8_fails_with_1007(
    server: ScriptedServer, make_client
) -> None:
    texts: list[str] = []
    client, errors, closes = connected(make_client, msg_handler=lambda c, t: texts.append(t))
    session = server.session()
    session.push({"notice": "Before"})
    session.send_raw(server_frame(websocket.ABNF.OPCODE_TEXT, b'{"notice":"\xff"}'))
    session.push({"notice": "After"})  # never handled: the connection failed first
    assert session.close_received() == (1007, "")
    server.wait_for(lambda: closes)
    assert closes == [(None, None)] and client.state == "disconnected"
    assert texts[-1] == '{"notice": "Before"}' and not any("After" in t for t in texts)
    assert isinstance(errors[0], ProtocolError) and "not valid UTF-8" in str(errors[0])


def test_an_oversized_message_gets_1009(server: ScriptedServer, make_client) -> None:
    client, errors, closes = connected(make_client)
    session = server.session()
    size = MAX_FRAME_BYTES + 1  # refused from the header alone: no payload needs to follow
    session.send_raw(b"\x81\x7f" + size.to_bytes(8, "big"))
    assert session.close_received() == (1009, "")
    server.wait_for(lambda: closes)
    assert closes == [(None, None)] and client.state == "disconnected"
    assert any(f"exceeds the {MAX_FRAME_BYTES} byte limit" in str(e) for e in errors), errors


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
    ],
    ids=["rsv", "opcode-3", "opcode-b", "fragmented-ping", "long-ping", "masked", "stray-cont"],
)
def test_a_breach_of_the_framing_gets_1002(
    server: ScriptedServer, make_client, frame: bytes, match: str
) -> None:
    client, errors, closes = connected(make_client)
    session = server.session()
    session.send_raw(frame)
    assert session.close_received() == (1002, "")
    server.wait_for(lambda: closes)
    assert closes == [(None, None)] and client.state == "disconnected"
    assert isinstance(errors[0], ProtocolError) and match in str(errors[0]), errors


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
