"""One WebSocket connection's socket: connect, read frames, write frames, close, abort.

``handshake.HandshakeWebSocket`` does the upgrade (websocket-client opens the socket and TLS) and
keeps any bytes that came after the response head; after it, the client reads the socket itself in
large chunks through a ``FrameReader`` and, on plain TCP, writes each frame without blocking
(``_write``), so that every send is bounded by ``timeout`` and the keep-alive can abort a
connection whatever holds its locks. What the frames mean is the caller's business: ``read``
hands text messages, pings and pongs to callbacks.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import websocket

from cfdash.core.errors import ProtocolError

from .closing import NORMAL, InvalidUTF8, close_payload, failure_code, parse_close
from .frames import OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, FrameReader, FrameTooLarge
from .handshake import HandshakeWebSocket, receiver

__all__ = ["MAX_FRAME_BYTES", "READ_SIZE", "Closed", "Transport"]

READ_SIZE = 65536
"""Bytes asked of the socket per read: a burst of notices parsed from one ``recv``."""
MAX_FRAME_BYTES = 16 * 2**20
"""The largest incoming message (after reassembling fragments) the client accepts, in bytes.
A bigger one is reported and its connection dropped (and replaced, with ``reconnect=True``)
as soon as its header announces it, before its payload is buffered."""

Closed = tuple[str | None, int | None, str | None]
"""How a connection ended: (the reason, None if normal; the close status; the close reason)."""


class Transport:
    """The socket of one connection, its send lock and the times the keep-alive reads."""

    __slots__ = (
        "dead_reason",
        "done",
        "last_ping",
        "last_rx",
        "opened_at",
        "ping_sent",
        "raw",
        "send_lock",
        "stopping",
        "timeout",
        "ws",
    )

    def __init__(self, ws: websocket.WebSocket, timeout: float) -> None:
        now = time.monotonic()
        self.ws = ws
        self.timeout = timeout
        """Bounds each write (and a TLS socket's reads)."""
        self.stopping = False
        self.dead_reason: str | None = None
        self.done = threading.Event()
        """Set once the connection has ended (the keep-alive stops)."""
        self.opened_at = now
        self.last_rx = now
        self.last_ping = now
        self.ping_sent: float | None = None
        self.raw = False
        """A plain TCP socket, written by ``_write`` (TLS: by websocket-client)."""
        self.send_lock = threading.Lock()
        """Held while a frame is written: frames never interleave, automatic tonces reach the
        wire in order, and the keep-alive can tell that a send is under way."""

    @classmethod
    def open(cls, url: str, sslopt: dict[str, Any], timeout: float) -> Transport:
        """Connect a new WebSocket (the handshake bounded by ``timeout``)."""
        ws = HandshakeWebSocket(sslopt=sslopt, skip_utf8_validation=True, enable_multithread=True)
        try:
            ws.connect(url, timeout=timeout)
        except BaseException:
            ws.shutdown()  # type: ignore[no-untyped-call]
            raise
        transport = cls(ws, timeout)
        # Every write is bounded (a send that cannot progress kills the connection). On plain
        # TCP the socket stays blocking and ``_write`` bounds each write itself: a timeout on
        # the socket would add a poll() to every read (three per frame; ingest -25 %). A TLS
        # socket takes the timeout (its reader just reads again after one); on both, the
        # keep-alive thread judges silence.
        transport.raw = ws.sock is not None and not isinstance(ws.sock, ssl.SSLSocket)
        ws.settimeout(None if transport.raw else timeout)
        return transport

    # -- writing ---------------------------------------------------------------------------

    def send_frame(self, data: str | bytes, opcode: int = OP_TEXT) -> None:
        """Write one frame (hold ``send_lock``). Each write waits at most ``timeout`` for room
        in the socket buffer; a send that fails or cannot progress aborts the connection and
        raises ``ConnectionError``."""
        try:
            if self.raw:
                self._write(data, opcode)
            else:
                self.ws.send(data, opcode)
        except websocket.WebSocketTimeoutException:
            reason = f"send timed out after {self.timeout} s (the server is not reading)"
            self.abort(reason)
            raise ConnectionError(reason) from None
        except Exception as exc:
            reason = self.dead_reason or f"send failed: {exc or type(exc).__name__}"
            self.abort(reason)
            raise ConnectionError(reason) from None

    def _write(self, data: str | bytes, opcode: int) -> None:
        """One frame on a blocking plain socket, each write without blocking (MSG_DONTWAIT):
        ``WebSocketTimeoutException`` once no byte could go for ``timeout``."""
        sock = self.ws.sock
        if sock is None:
            raise websocket.WebSocketConnectionClosedException("socket is already closed.")
        frame = websocket.ABNF.create_frame(data, opcode)
        buf = memoryview(frame.format())
        deadline: float | None = None
        while buf:
            try:
                sent = sock.send(buf, socket.MSG_DONTWAIT)
            except BlockingIOError:
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self.timeout
                if now >= deadline or not select.select([], [sock], [], deadline - now)[1]:
                    raise websocket.WebSocketTimeoutException("send timed out") from None
                continue
            buf = buf[sent:]
            deadline = None  # progress: the next wait starts afresh

    def control(self, data: bytes, opcode: int) -> None:
        """Send a control frame (a pong) unless a send is stuck: that one ends the connection."""
        if not self.send_lock.acquire(timeout=self.timeout):
            return
        try:
            self.send_frame(data, opcode)
        except ConnectionError:
            pass  # aborted: the next read fails
        finally:
            self.send_lock.release()

    def send_close(self, code: int = NORMAL) -> bool:
        """Send a close frame (normal by default) if that cannot block; whether it was sent."""
        if not self.send_lock.acquire(timeout=min(0.2, self.timeout)):
            return False  # a send is stuck
        try:
            sock = self.ws.sock
            if sock is None or self.dead_reason is not None:
                return False
            try:
                if not select.select([], [sock], [], 0)[1]:
                    return False  # the buffer is full: the server is not reading
                self.ws.send(close_payload(code), OP_CLOSE)
            except Exception:
                return False
            return True
        finally:
            self.send_lock.release()

    def abort(self, reason: str | None = None) -> None:
        """Shut the raw socket down, whatever holds the locks: the reader and any blocked
        sender wake up with an error. ``reason`` (the first one given) is reported."""
        if reason is not None and self.dead_reason is None:
            self.dead_reason = reason
        sock = self.ws.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def shutdown(self) -> None:
        """Close the socket (the connection has ended)."""
        self.ws.shutdown()  # type: ignore[no-untyped-call]

    # -- reading ---------------------------------------------------------------------------

    def read(
        self,
        on_text: Callable[[str], None],
        on_pong: Callable[[bytes, float | None], None],
        on_ping: Callable[[bytes], None],
        report: Callable[[Any], None],
    ) -> Closed:
        """Read until the connection ends; (reason or None if normal, close status, reason).

        The socket is read in large chunks and parsed by a ``FrameReader`` (one ``recv`` for
        many small frames, not three per frame); control replies go through the send lock.
        ``on_pong`` gets the round trip of the keep-alive ping it answers (or None). Binary
        messages are reported and skipped; a message over ``MAX_FRAME_BYTES``, a text message
        that is not UTF-8 or a breach of the framing fails the connection, with the close code
        of RFC 6455 (``closing.failure_code``).
        """
        sock = self.ws.sock
        if sock is None:
            return "socket is already closed", None, None
        recv = receiver(self.ws, sock)  # the bytes that came with the handshake first
        feed = FrameReader(MAX_FRAME_BYTES).feed
        monotonic = time.monotonic
        try:
            while True:
                try:
                    data = recv(READ_SIZE)
                except (TimeoutError, ssl.SSLWantReadError):  # TLS: the socket has a timeout
                    if self.dead_reason is not None:
                        return self.dead_reason, None, None
                    continue  # quiet for timeout: the keep-alive judges that
                if not data:
                    raise ConnectionError("Connection to remote host was lost.")
                self.last_rx = monotonic()
                for opcode, payload in feed(data):
                    if opcode == OP_TEXT:
                        try:
                            text = payload.decode("utf-8")
                        except UnicodeDecodeError as exc:
                            raise InvalidUTF8("a text message is not valid UTF-8") from exc
                        on_text(text)
                    elif opcode == OP_BINARY:
                        report(
                            ProtocolError(
                                f"binary frame of {len(payload)} bytes skipped: "
                                "the protocol uses text frames"
                            )
                        )
                    elif opcode == OP_PONG:
                        sent = self.ping_sent
                        rtt = None
                        if sent is not None:
                            rtt = self.last_rx - sent
                            self.ping_sent = None
                        on_pong(payload, rtt)
                    elif opcode == OP_PING:
                        self.control(payload, OP_PONG)
                        on_ping(payload)
                    elif opcode == OP_CLOSE:
                        close = parse_close(payload)
                        if not self.stopping:  # the closing handshake, if it cannot block
                            self.send_close(close.reply)
                        return close.outcome(self.stopping), close.code, close.reason
        except ProtocolError as exc:  # FrameTooLarge, or a stream that cannot be trusted
            if not isinstance(exc, FrameTooLarge):
                report(exc)
            self.send_close(failure_code(exc))  # fail the connection (RFC 6455 7.1.7)
            return self.dead_reason or str(exc), None, None
        except Exception as exc:
            if self.dead_reason is not None:
                return self.dead_reason, None, None
            if self.stopping:
                return None, None, None
            return (str(exc) or type(exc).__name__), None, None
