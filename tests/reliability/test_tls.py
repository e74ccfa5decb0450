"""wss:// end to end: a TLS WebSocket front (self-signed certificate, made by ``openssl`` at
test time) relaying frames to a real embedded exchange.

The client verifies certificates by default and refuses the self-signed one before sending a
byte of the protocol; ``insecure_ssl=True`` (``-k``) connects, works, and warns.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import ssl
import subprocess
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from cfdash.client import WSClient
from cfdash.core.assets import Assets, Pair
from cfdash.server.app import ServerThread
from cfdash.server.users import DEMO_COOKIE, DEMO_PASSPHRASE, DEMO_USER_ID
from tests.support.processes import start_cfdash
from tests.support.servers import start_exchange
from tests.support.wait import wait_until

XBT_GBP = Pair(Assets["XBT"], Assets["GBP"])
XBT_USD = Pair(Assets["XBT"], Assets["USD"])
INSECURE_TEXT = "TLS certificates will not be verified"


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (and localhost), valid for a day."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed: cannot make a self-signed certificate")
    cert, key = directory / "cert.pem", directory / "key.pem"
    # Python's ssl refuses RSA keys under 2048 bits; EC keys are quick to make.
    command = [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    command += ["-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1"]
    command += ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        pytest.skip(f"openssl cannot make a certificate here: {done.stderr.strip()[:200]}")
    return cert, key


class TLSFront:
    """A ``wss://`` server on its own loop and thread, relaying every frame both ways to
    ``backend`` (one upstream connection per client). ``handshakes`` counts the WebSocket
    handshakes it completed: a client that refused the certificate never gets that far."""

    def __init__(self, backend: str, cert: Path, key: Path) -> None:
        self.backend = backend
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.handshakes = 0
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)

    def start(self) -> str:
        self._thread.start()
        assert self._ready.wait(10), "the TLS front did not start"
        return self.url

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(self._relay, "127.0.0.1", 0, ssl=self.context) as server:
            port = server.sockets[0].getsockname()[1]
            self.url = f"wss://127.0.0.1:{port}/"
            self._ready.set()
            await self._stop.wait()

    async def _relay(self, client: ServerConnection) -> None:
        self.handshakes += 1
        async with connect(self.backend, max_size=None) as upstream:

            async def pump(source: Any, sink: Any) -> None:
                with contextlib.suppress(Exception):
                    async for message in source:
                        await sink.send(message)

            tasks = [
                asyncio.ensure_future(pump(client, upstream)),
                asyncio.ensure_future(pump(upstream, client)),
            ]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                task.cancel()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def front(certificate: tuple[Path, Path]) -> Iterator[tuple[TLSFront, ServerThread]]:
    exchange = start_exchange(seed=5, close_timeout=0.5)
    proxy = TLSFront(exchange.url, *certificate)
    proxy.start()
    yield proxy, exchange
    proxy.stop()
    exchange.stop()


def sessions_seen(exchange: ServerThread) -> int:
    """How many connections the exchange has ever had (its next session id - 1)."""
    return int(exchange.call(lambda s: s.core._next_session)) - 1


def test_the_self_signed_certificate_is_refused_by_default(front) -> None:
    proxy, exchange = front
    errors: list[Any] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = WSClient(proxy.url, err_handler=lambda c, e: errors.append(e), socket_timeout=3)
    assert not [w for w in caught if INSECURE_TEXT in str(w.message)]
    try:
        future = client.WatchOrders(base=XBT_GBP.base, counter=XBT_GBP.counter, watch=True)
        with pytest.raises(Exception):  # noqa: B017 - failed, whatever its type
            future.result(3)
        assert not client.connected and client.state == "disconnected"
        assert len(errors) == 1 and "CERTIFICATE_VERIFY_FAILED" in str(errors[0]), errors
    finally:
        client.stop()
    # Without an err_handler the seed behaviour: ConnectionError, raised in the caller.
    bare = WSClient(proxy.url, socket_timeout=3)
    try:
        with pytest.raises(ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            bare.WatchTicker(base=XBT_GBP.base, counter=XBT_GBP.counter, watch=True)
    finally:
        bare.stop()
    assert proxy.handshakes == 0  # no WebSocket handshake, so not one frame, reached the front
    assert sessions_seen(exchange) == 0


def test_a_trusted_certificate_is_accepted_with_verification_on(
    front, certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refusal is about trust, not a broken TLS setup: trusting the CA makes it work."""
    proxy, exchange = front
    monkeypatch.setenv("WEBSOCKET_CLIENT_CA_BUNDLE", str(certificate[0]))
    with WSClient(proxy.url, socket_timeout=3) as client:
        reply = client.WatchTicker(base=XBT_GBP.base, counter=XBT_GBP.counter, watch=True)
        assert reply.result(5) is not None and client.connected
    assert proxy.handshakes == 1 and sessions_seen(exchange) == 1


def test_insecure_ssl_connects_works_and_warns(front) -> None:
    proxy, exchange = front
    with pytest.warns(UserWarning, match=INSECURE_TEXT):
        client = WSClient(proxy.url, insecure_ssl=True, socket_timeout=3)
    try:
        client.set_auth_data(DEMO_USER_ID, DEMO_COOKIE, DEMO_PASSPHRASE)
        client.authenticate()
        assert client.auth_okay and client.state == "authenticated"
        placed = client.place_order(XBT_GBP, "0.25", "30000").result(5)
        orders = client.GetOrders().result(5)
        assert [o.id for o in orders] == [placed.id]
        cancelled = client.cancel_order(id=placed.id).result(5)
        assert cancelled.id == placed.id
    finally:
        client.stop()
    assert proxy.handshakes == 1 and sessions_seen(exchange) == 1


def _example(url: str, *extra: str) -> subprocess.Popen[str]:
    return start_cfdash("example", url, *extra)


def test_cfdash_example_k_warns_and_receives_the_feed(front) -> None:
    proxy, _ = front
    proc = _example(proxy.url, "-k")
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]  # Welcome, the two watch replies
        wait_until(lambda: proxy.handshakes, 10, "the TLS handshake", interval=0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert '"notice": "Welcome"' in lines[0] or '"notice":"Welcome"' in lines[0], lines
    assert sum('"error_code":0' in line.replace(" ", "") for line in lines[1:]) == 2, lines
    assert INSECURE_TEXT in err


def test_cfdash_example_without_k_refuses_the_certificate(front) -> None:
    proxy, exchange = front
    proc = _example(proxy.url)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 1
    assert "CERTIFICATE_VERIFY_FAILED" in err and INSECURE_TEXT not in err
    assert out == ""
    assert proxy.handshakes == 0 and sessions_seen(exchange) == 0
