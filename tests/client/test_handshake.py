"""``handshake``: the upgrade request, the response head read in chunks cut anywhere, the checks
of RFC 6455 4.1 / 4.2.2, and the bytes after the head kept for the frame reader. No sockets: a
scripted stand-in gives the chunks."""

from __future__ import annotations

from typing import Any

import pytest
import websocket
from hypothesis import given
from hypothesis import strategies as st

from cfdash.client.frames import OP_TEXT, FrameReader
from cfdash.client.handshake import (
    HandshakeError,
    HandshakeWebSocket,
    HeadReader,
    Response,
    accept_key,
    build_request,
    check_upgrade,
    parse_head,
    receiver,
    redirect_target,
    upgrade,
)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 1.3's example
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def head(accept: str = ACCEPT, status: str = "101 Switching Protocols", **extra: str) -> bytes:
    lines = [
        f"HTTP/1.1 {status}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Accept: {accept}",
        *(f"{k.replace('_', '-')}: {v}" for k, v in extra.items()),
    ]
    return "\r\n".join(lines).encode() + b"\r\n\r\n"


def text_frame(text: str) -> bytes:
    data = text.encode()
    assert len(data) < 126
    return bytes([0x81, len(data)]) + data


def test_accept_key_is_rfc_6455s_example() -> None:
    assert accept_key(KEY) == ACCEPT


def test_the_request_has_websocket_clients_headers() -> None:
    request = build_request("/api?x=1", "example.com", 8080, False, KEY).decode()
    assert request == (
        "GET /api?x=1 HTTP/1.1\r\n"
        "Upgrade: websocket\r\n"
        "Host: example.com:8080\r\n"
        "Origin: http://example.com:8080\r\n"
        f"Sec-WebSocket-Key: {KEY}\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "Connection: Upgrade\r\n\r\n"
    )
    secure = build_request("/", "::1", 443, True, KEY).decode()
    assert "Host: [::1]\r\n" in secure and "Origin: https://[::1]\r\n" in secure


@given(st.data())
def test_the_head_and_what_follows_survive_any_cutting(data: st.DataObject) -> None:
    after = text_frame('{"notice":"Welcome"}') + text_frame("second")
    stream = head() + after
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    reader = HeadReader()
    got = None
    for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        assert got is None  # nothing is fed after the head was found
        got = reader.feed(stream[a:b])
        if got is not None:
            rest_of_stream = stream[b:]
            break
    assert got is not None
    found, rest = got
    assert found + b"\r\n\r\n" + rest + rest_of_stream == stream
    assert found == head()[:-4]


@pytest.mark.parametrize("cut", range(1, 4))
def test_the_blank_line_split_across_chunks(cut: int) -> None:
    whole = head() + b"tail"
    end = len(head()) - 4
    reader = HeadReader()
    assert reader.feed(whole[: end + cut]) is None
    assert reader.feed(whole[end + cut :]) == (head()[:-4], b"tail")


def test_one_byte_at_a_time() -> None:
    whole = head() + b"\x81\x00"
    reader = HeadReader()
    results = [reader.feed(whole[i : i + 1]) for i in range(len(head()))]
    assert results[:-1] == [None] * (len(head()) - 1)
    assert results[-1] == (head()[:-4], b"")


def test_a_head_without_end_is_refused() -> None:
    reader = HeadReader(limit=100)
    assert reader.feed(b"HTTP/1.1 101 OK\r\n" + b"X: y\r\n" * 10) is None
    with pytest.raises(HandshakeError, match="no end to the response headers in 100 bytes"):
        reader.feed(b"X: y\r\n" * 10)


def test_parse_head() -> None:
    response = parse_head(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\n"
        b"Connection: keep-alive\r\nconnection:  Upgrade \r\nX-Empty:"
    )
    assert response == Response(
        101,
        "Switching Protocols",
        {"upgrade": "WebSocket", "connection": "keep-alive, Upgrade", "x-empty": ""},
    )
    assert parse_head(b"HTTP/1.1 101").reason == ""


@pytest.mark.parametrize(
    "bad", [b"HTTP/1.1 abc OK", b"ICY 200 OK", b"HTTP/1.1", b"HTTP/1.1 101 OK\r\nno colon"]
)
def test_a_malformed_head_is_refused(bad: bytes) -> None:
    with pytest.raises(HandshakeError):
        parse_head(bad)


def test_a_valid_upgrade_passes() -> None:
    check_upgrade(parse_head(head()[:-4]), KEY)
    # Tokens are case-insensitive and may come in lists.
    check_upgrade(Response(101, "", {
        "upgrade": "WebSocket", "connection": "keep-alive, UPGRADE",
        "sec-websocket-accept": ACCEPT,
    }), KEY)  # fmt: skip


def test_a_non_101_status_raises_websocket_clients_exception() -> None:
    response = parse_head(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1")
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        check_upgrade(response, KEY)
    assert info.value.status_code == 503
    assert str(info.value).startswith("Handshake status 503 Service Unavailable")


@pytest.mark.parametrize(
    ("response", "match"),
    [
        (head(accept=accept_key("another key AA==")), "does not match the key"),
        (head(accept=ACCEPT.lower()), "does not match the key"),  # base64 is case-sensitive
        (head(accept=""), "does not match the key"),
        (head().replace(b"Upgrade: websocket", b"Upgrade: h2c"), "Upgrade header"),
        (head().replace(b"Connection: Upgrade", b"Connection: close"), "Connection header"),
        (head(Sec_WebSocket_Extensions="permessage-deflate"), "sec-websocket-extensions"),
        (head(Sec_WebSocket_Protocol="chat"), "sec-websocket-protocol"),
    ],
)
def test_a_bad_acceptance_is_refused(response: bytes, match: str) -> None:
    with pytest.raises(HandshakeError, match=match):
        check_upgrade(parse_head(response[:-4]), KEY)


class ScriptedSocket:
    """Stands in for a socket: records what is sent, gives the scripted chunks to ``recv``."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)
        self.sent = b""

    def sendall(self, data: bytes) -> None:
        self.sent += data

    def gettimeout(self) -> float | None:  # websocket-client's reader asks
        return None

    def recv(self, size: int) -> bytes:
        if not self.chunks:
            return b""
        chunk = self.chunks.pop(0)
        if len(chunk) > size:
            self.chunks.insert(0, chunk[size:])
        return chunk[:size]


def answer(sock: ScriptedSocket, after: bytes, cuts: list[int]) -> None:
    """Script the server's answer to the request sock is about to send (its key is random)."""

    original = sock.sendall

    def sendall(data: bytes) -> None:
        original(data)
        key = next(
            line.split(": ", 1)[1]
            for line in data.decode().split("\r\n")
            if line.startswith("Sec-WebSocket-Key")
        )
        stream = head(accept=accept_key(key)) + after
        sock.chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]

    sock.sendall = sendall  # type: ignore[method-assign]


@pytest.mark.parametrize("cuts", [[], [40], [97, 98, 99], [5, 60, 101]])
def test_upgrade_keeps_the_first_frame_sent_with_the_101(cuts: list[int]) -> None:
    first = text_frame('{"notice":"Welcome","nonce":"x"}')
    sock = ScriptedSocket([])
    answer(sock, first, cuts)
    response, rest = upgrade(sock, "/", "127.0.0.1", 9000, False)  # type: ignore[arg-type]
    assert response.status == 101 and sock.sent.startswith(b"GET / HTTP/1.1\r\n")
    # Whatever of the frame came with the head is kept; the rest is still in the socket.
    stream = rest + b"".join(sock.chunks)
    assert stream == first
    assert FrameReader(1 << 20).feed(stream) == [(OP_TEXT, first[2:])]


def test_upgrade_with_a_wrong_accept_raises() -> None:
    sock = ScriptedSocket([head(accept=ACCEPT)])  # the right answer to another key
    with pytest.raises(HandshakeError, match="Sec-WebSocket-Accept"):
        upgrade(sock, "/", "127.0.0.1", 9000, False)  # type: ignore[arg-type]


def test_upgrade_on_a_closed_connection_raises() -> None:
    sock = ScriptedSocket([b"HTTP/1.1 101 Switching"])
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        upgrade(sock, "/", "127.0.0.1", 9000, False)  # type: ignore[arg-type]


def test_a_redirect_is_returned_to_be_followed() -> None:
    sock = ScriptedSocket([b"HTTP/1.1 302 Found\r\nLocation: ws://elsewhere/\r\n\r\n"])
    response, rest = upgrade(sock, "/", "127.0.0.1", 9000, False)  # type: ignore[arg-type]
    assert (response.status, response.headers["location"], rest) == (302, "ws://elsewhere/", b"")


def test_a_response_that_never_ends_in_time_raises() -> None:
    """A server dribbling its head is bounded overall, not only read by read."""
    sock = ScriptedSocket([b"HTTP/1.1 101 Switching", b" Protocols\r\n"])
    with pytest.raises(websocket.WebSocketTimeoutException, match="no handshake response"):
        upgrade(sock, "/", "127.0.0.1", 9000, False, timeout=-1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("location", "secure", "target"),
    [
        ("ws://b.example/x", False, ("ws://b.example/x", False)),
        ("wss://b.example/x", False, ("wss://b.example/x", True)),
        ("wss://b.example/x", True, ("wss://b.example/x", True)),
    ],
)
def test_redirect_target(location: str, secure: bool, target: tuple[str, bool]) -> None:
    assert redirect_target(Response(302, "Found", {"location": location}), secure) == target


@pytest.mark.parametrize(
    ("headers", "secure", "match"),
    [
        ({"location": "ws://b.example/"}, True, "refused redirect from wss"),
        ({}, False, "without Location"),
        ({"location": "ftp://b.example/"}, False, "invalid redirect target"),
    ],
)
def test_a_bad_redirect_raises(headers: dict[str, str], secure: bool, match: str) -> None:
    with pytest.raises(websocket.WebSocketException, match=match):
        redirect_target(Response(301, "Moved", headers), secure)


def test_receiver_serves_the_kept_bytes_first() -> None:
    ws = HandshakeWebSocket()
    ws.leftover = b"kept"
    sock: Any = ScriptedSocket([b"later"])
    recv = receiver(ws, sock)
    assert [recv(100), recv(100), recv(100)] == [b"kept", b"later", b""]
    assert ws.leftover == b""
    # Nothing kept: the socket's own recv, no wrapper in the way.
    assert receiver(ws, sock) == sock.recv
    assert receiver(websocket.WebSocket(), sock) == sock.recv


def test_websocket_clients_own_reader_sees_the_kept_bytes() -> None:
    """``ws.recv()`` (websocket-client's reader) gets them too: no frame is lost either way."""
    ws = HandshakeWebSocket(skip_utf8_validation=True)
    ws.sock = ScriptedSocket([text_frame("two")])  # type: ignore[assignment]
    ws.connected = True
    ws.leftover = text_frame("one")
    assert [ws.recv(), ws.recv()] == ["one", "two"]
