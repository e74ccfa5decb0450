"""The opening handshake of RFC 6455 (section 4), without losing a byte that follows it.

websocket-client reads the server's response one byte at a time: that is all that keeps it
from swallowing the bytes that come after the headers in the same segment (a server may send
its first frame with the 101). Here the socket is read in chunks until the blank line that
ends the headers, and whatever came after it is kept for the frame reader.

The request, the parsing and the checks of the response are sans I/O (``build_request``,
``HeadReader``, ``parse_head``, ``check_upgrade``); ``HandshakeWebSocket`` is a
``websocket.WebSocket`` whose ``connect`` opens the socket with websocket-client's own
helpers (TLS options, certificate verification, proxies: all as before), then performs the
upgrade itself. ``receiver`` gives the event thread's reader the kept bytes first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final

import websocket
from websocket._handshake import SUPPORTED_REDIRECT_STATUSES, handshake_response
from websocket._http import connect as open_socket
from websocket._http import proxy_info
from websocket._url import parse_url

GUID: Final = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
VERSION: Final = 13
MAX_HEAD_BYTES: Final = 64 * 1024
"""A response head longer than this is refused (a server that is not a WebSocket server)."""
_READ_SIZE: Final = 16 * 1024


class HandshakeError(websocket.WebSocketException):
    """The server's response is not a valid acceptance of the upgrade (RFC 6455 4.1, 4.2.2)."""


def new_key() -> str:
    """A fresh Sec-WebSocket-Key: 16 random bytes, base64."""
    return base64.b64encode(os.urandom(16)).decode("ascii")


def accept_key(key: str) -> str:
    """The Sec-WebSocket-Accept a server must answer to ``key``."""
    return base64.b64encode(hashlib.sha1(key.encode("ascii") + GUID).digest()).decode("ascii")


def host_port(host: str, port: int) -> str:
    """``host[:port]`` as websocket-client writes it (no port for 80 and 443; IPv6 bracketed)."""
    name = f"[{host}]" if ":" in host else host
    return name if port in (80, 443) else f"{name}:{port}"


def build_request(resource: str, host: str, port: int, secure: bool, key: str) -> bytes:
    """The upgrade request, with the headers websocket-client sends (Origin included)."""
    where = host_port(host, port)
    lines = [
        f"GET {resource} HTTP/1.1",
        "Upgrade: websocket",
        f"Host: {where}",
        f"Origin: {'https' if secure else 'http'}://{where}",
        f"Sec-WebSocket-Key: {key}",
        f"Sec-WebSocket-Version: {VERSION}",
        "Connection: Upgrade",
        "",
        "",
    ]
    return "\r\n".join(lines).encode("ascii")


@dataclass(frozen=True, slots=True)
class Response:
    """A response head: status, reason phrase, headers (lower-case names, repeats joined)."""

    status: int
    reason: str
    headers: dict[str, str]


class HeadReader:
    """Feed it the bytes read from the socket until it returns ``(head, rest)``.

    ``head`` is the status line and headers (without the blank line that ends them), ``rest``
    every byte read after that blank line: the start of the WebSocket stream.
    """

    __slots__ = ("_buf", "limit")

    def __init__(self, limit: int = MAX_HEAD_BYTES) -> None:
        self._buf = bytearray()
        self.limit = limit

    def feed(self, data: bytes) -> tuple[bytes, bytes] | None:
        start = max(0, len(self._buf) - 3)  # the blank line may straddle two chunks
        self._buf += data
        end = self._buf.find(b"\r\n\r\n", start)
        if end < 0:
            if len(self._buf) > self.limit:
                raise HandshakeError(f"no end to the response headers in {self.limit} bytes")
            return None
        if end > self.limit:
            raise HandshakeError(f"response headers over {self.limit} bytes")
        return bytes(self._buf[:end]), bytes(self._buf[end + 4 :])


def parse_head(head: bytes) -> Response:
    """Parse the status line and the headers (ISO-8859-1, as HTTP has them)."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise HandshakeError(f"invalid status line: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise HandshakeError(f"invalid header line: {line[:80]!r}")
        key = name.lower()
        value = value.strip(" \t")
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return Response(int(parts[1]), parts[2] if len(parts) > 2 else "", headers)


def _tokens(value: str) -> set[str]:
    return {token.strip().lower() for token in value.split(",")}


def check_upgrade(response: Response, key: str) -> None:
    """Raise unless ``response`` accepts the upgrade asked with ``key`` (RFC 6455 4.1).

    A status other than 101 raises websocket-client's ``WebSocketBadStatusException`` (as
    its own handshake did); a missing or wrong header, ``HandshakeError``.
    """
    if response.status != HTTPStatus.SWITCHING_PROTOCOLS:
        raise websocket.WebSocketBadStatusException(
            f"Handshake status {response.status} {response.reason}",
            response.status,
            response.reason,
            response.headers,
        )
    headers = response.headers
    if "websocket" not in _tokens(headers.get("upgrade", "")):
        raise HandshakeError(f"Upgrade header is {headers.get('upgrade')!r}, not websocket")
    if "upgrade" not in _tokens(headers.get("connection", "")):
        raise HandshakeError(f"Connection header is {headers.get('connection')!r}, not Upgrade")
    accept = headers.get("sec-websocket-accept", "")
    if not hmac.compare_digest(accept.encode("latin-1"), accept_key(key).encode("ascii")):
        raise HandshakeError(f"Sec-WebSocket-Accept {accept[:40]!r} does not match the key")
    for name in ("sec-websocket-extensions", "sec-websocket-protocol"):
        if headers.get(name):  # the client asked for none
            raise HandshakeError(f"the server chose {name} {headers[name][:40]!r}, not asked for")


def _recv(sock: socket.socket) -> bytes:
    try:
        data = sock.recv(_READ_SIZE)
    except TimeoutError as exc:
        raise websocket.WebSocketTimeoutException("timed out reading the handshake") from exc
    if not data:
        raise websocket.WebSocketConnectionClosedException(
            "Connection to remote host was lost during the handshake."
        )
    return data


def upgrade(
    sock: socket.socket,
    resource: str,
    host: str,
    port: int,
    secure: bool,
    timeout: float | None = None,
) -> tuple[Response, bytes]:
    """Send the upgrade request on ``sock`` and read the response head; (head, bytes after it).

    A redirect is returned as it is (the caller follows it); anything else but a valid 101
    raises. ``timeout`` bounds the whole response (the socket's own timeout, each read: a
    server sending a byte at a time would otherwise hold the caller for long).
    """
    key = new_key()
    sock.sendall(build_request(resource, host, port, secure, key))
    reader = HeadReader()
    deadline = None if timeout is None else time.monotonic() + timeout
    while (got := reader.feed(_recv(sock))) is None:
        if deadline is not None and time.monotonic() > deadline:
            raise websocket.WebSocketTimeoutException(f"no handshake response in {timeout} s")
    head, rest = got
    response = parse_head(head)
    if response.status not in SUPPORTED_REDIRECT_STATUSES:
        check_upgrade(response, key)
    return response, rest


def redirect_target(response: Response, secure: bool) -> tuple[str, bool]:
    """Where a redirect leads (URL, whether it is ``wss``); never from ``wss`` to ``ws``."""
    url = response.headers.get("location", "")
    if not url:
        raise websocket.WebSocketException(f"redirect ({response.status}) without Location")
    try:
        to_secure: bool = parse_url(url)[3]
    except ValueError as exc:
        raise websocket.WebSocketException(f"invalid redirect target {url!r}: {exc}") from None
    if secure and not to_secure:
        raise websocket.WebSocketException(f"refused redirect from wss to {url!r}")
    return url, to_secure


class HandshakeWebSocket(websocket.WebSocket):
    """A ``websocket.WebSocket`` whose handshake keeps the bytes that follow the headers.

    Those bytes are served first by ``receiver`` (the client's reader) and by this object's
    own ``recv`` (websocket-client's reader), so either way no frame is lost.
    """

    def __init__(self, **options: Any) -> None:
        self.leftover = b""
        """Bytes read with the handshake response, after its headers; not yet consumed."""
        super().__init__(**options)

    def connect(self, url: str, **options: Any) -> None:
        """Open the socket (websocket-client's helpers: TLS, proxies) and upgrade it.

        Options: ``timeout``, ``socket``, ``redirect_limit`` and websocket-client's proxy
        options (``http_proxy_host``...). Redirects are followed, but never from ``wss`` to
        ``ws``.
        """
        self.sock_opt.timeout = options.pop("timeout", self.sock_opt.timeout)
        given = options.pop("socket", None)
        redirects = options.pop("redirect_limit", 3)
        proxy = proxy_info(**options)  # type: ignore[no-untyped-call]
        secure = parse_url(url)[3]
        for _ in range(redirects + 1):
            self.sock, (host, port, resource) = open_socket(url, self.sock_opt, proxy, given)
            given = None
            try:
                response, rest = upgrade(
                    self.sock, resource, host, port, secure, self.sock_opt.timeout
                )
            except BaseException:
                self._drop()
                raise
            if response.status not in SUPPORTED_REDIRECT_STATUSES:
                self.handshake_response = handshake_response(
                    response.status, response.headers, None
                )
                self.leftover = rest
                self.connected = True
                return
            self._drop()
            url, secure = redirect_target(response, secure)
        raise websocket.WebSocketException("Redirect limit exhausted")

    def _drop(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _recv(self, bufsize: int) -> bytes:
        """websocket-client's own reads: the bytes kept from the handshake come first."""
        if self.leftover:
            data, self.leftover = self.leftover[:bufsize], self.leftover[bufsize:]
            return data
        return super()._recv(bufsize)  # type: ignore[no-any-return, no-untyped-call]


def receiver(ws: websocket.WebSocket, sock: socket.socket) -> Callable[[int], bytes]:
    """``sock.recv``, but the bytes kept from the handshake (if any) come first."""
    if not isinstance(ws, HandshakeWebSocket) or not ws.leftover:
        return sock.recv
    recv = sock.recv

    def first_leftover(size: int) -> bytes:
        if ws.leftover:
            data, ws.leftover = ws.leftover, b""
            return data
        return recv(size)

    return first_leftover
