"""The SSH server: who may connect, the host key, and the sessions running.

Public keys only, checked against the authorized_keys file, read again at every connection (an
edit takes effect at once); no password or keyboard-interactive login, no forwarding, no
subsystems (sftp), no agent or X11. The host key (ed25519) is made on first start and kept
with mode 0600. Every session is logged (key fingerprint, start, end, terminal size), never a
secret: asyncssh's own log is kept to warnings.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import asyncssh

from cfdash.server.store import default_path
from cfdash.tui.config import config_path

from .session import DashboardSession, Launch

log = logging.getLogger("cfdash.ssh")

MAX_SESSIONS = 8
LOGIN_TIMEOUT = 30.0
"""Seconds a connection has to authenticate."""
KEEPALIVE = 30.0
"""Seconds between keep-alives; a client silent for three of them is dropped."""


class SetupError(Exception):
    """The server cannot start (no authorized keys, a bad host key): printed, status 2."""


def default_authorized_keys(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/cfdash/authorized_keys`` (``~/.config`` when unset)."""
    return config_path(env).with_name("authorized_keys")


def default_host_key() -> Path:
    """``$XDG_DATA_HOME/cfdash/ssh_host_ed25519_key`` (``~/.local/share`` when unset)."""
    return default_path().with_name("ssh_host_ed25519_key")


def how_to_authorize(path: Path) -> str:
    return (
        f"make a key pair with `ssh-keygen -t ed25519` if you have none, then add its public "
        f"key: `mkdir -p {path.parent} && cat ~/.ssh/id_ed25519.pub >> {path}`"
    )


def load_authorized_keys(path: Path) -> asyncssh.SSHAuthorizedKeys:
    """The keys in ``path``; ``SetupError`` (saying how to make it) if missing, empty or bad."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SetupError(f"{path}: no such file; {how_to_authorize(path)}") from None
    except (OSError, UnicodeError) as exc:
        raise SetupError(f"{path}: cannot read it: {exc}") from None
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not lines:
        raise SetupError(f"{path}: no key in it; {how_to_authorize(path)}")
    try:
        return asyncssh.import_authorized_keys(text)
    except (ValueError, asyncssh.KeyImportError) as exc:
        raise SetupError(f"{path}: {exc}") from None


def host_key(path: Path) -> asyncssh.SSHKey:
    """The host key kept in ``path``, made (ed25519, mode 0600) if there is none yet."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return _new_host_key(path)
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise SetupError(f"{path}: the host key is readable by others; `chmod 600 {path}`")
    try:
        return asyncssh.read_private_key(path)
    except (OSError, ValueError, asyncssh.KeyImportError) as exc:
        raise SetupError(f"{path}: not a usable host key: {exc}") from None


def _new_host_key(path: Path) -> asyncssh.SSHKey:
    key = asyncssh.generate_private_key("ssh-ed25519")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise SetupError(f"{path}: cannot keep the host key there: {exc}") from None
    with os.fdopen(fd, "wb") as out:
        out.write(key.export_private_key())
    log.info("new host key %s in %s", key.get_fingerprint(), path)
    return key


class Sessions:
    """The sessions running, and the cap on them. ``launch(term)`` says how to start a
    session's child for a terminal of type ``term``."""

    def __init__(
        self, launch: Callable[[str, Mapping[str, str]], Launch], cap: int = MAX_SESSIONS
    ) -> None:
        self.launch = launch
        self.cap = cap
        self.running: set[DashboardSession] = set()
        self._numbers = itertools.count(1)
        self.changed = asyncio.Event()  # set whenever a session starts or ends (for tests)

    def new(self, who: str, closed: Callable[[], None]) -> DashboardSession:
        number = next(self._numbers)
        return DashboardSession(number, who, self.launch, self._admit, self._done, closed)

    def _admit(self, session: DashboardSession) -> bytes | None:
        if len(self.running) >= self.cap:
            return (
                f"cfdash: the server is full ({self.cap} sessions at once, its "
                "--max-sessions); try again later\r\n"
            ).encode()
        self.running.add(session)
        return None

    def _done(self, session: DashboardSession) -> None:
        self.running.discard(session)

    async def stop(self) -> None:
        """Terminate every session's child (SIGTERM, then SIGKILL), and wait for them."""
        await asyncio.gather(*(session.stop() for session in list(self.running)))


class KeyAuth(asyncssh.SSHServer):
    """One connection: public-key authentication against ``authorized`` (a path), then
    dashboard sessions."""

    def __init__(self, authorized: Path, sessions: Sessions) -> None:
        self.authorized = authorized
        self.sessions = sessions
        self.peer = "?"
        self.fingerprint = ""
        self._conn: asyncssh.SSHServerConnection | None = None
        self._open = 0  # sessions whose channel is open

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        peer = conn.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "?"

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        try:
            keys = load_authorized_keys(self.authorized)
        except SetupError as exc:
            log.warning("refusing %s: %s", self.peer, exc)
            return False
        host = self.peer.rsplit(":", 1)[0]
        if keys.validate(key, host, host) is None:
            log.info("refused key %s from %s", key.get_fingerprint(), self.peer)
            return False
        self.fingerprint = key.get_fingerprint()
        return True

    def auth_completed(self) -> None:
        log.info("key %s from %s: logged in", self.fingerprint, self.peer)

    def session_requested(self) -> DashboardSession:
        self._open += 1
        return self.sessions.new(f"key {self.fingerprint} from {self.peer}", self._closed)

    def connection_lost(self, exc: Exception | None) -> None:
        self._conn = None

    def _closed(self) -> None:
        """A session's channel has closed: with none left, close the connection, as sshd does
        (a client may otherwise wait on it)."""
        self._open -= 1
        if self._open == 0 and self._conn is not None:
            self._conn.close()


async def listen(
    host: str,
    port: int,
    authorized: Path,
    key: asyncssh.SSHKey,
    sessions: Sessions,
) -> Any:
    """Start listening; the asyncssh acceptor (``close()``, ``wait_closed()``)."""
    return await asyncssh.create_server(
        lambda: KeyAuth(authorized, sessions),
        host,
        port,
        server_host_keys=[key],
        line_editor=False,  # the dashboard reads raw keys
        encoding=None,
        agent_forwarding=False,
        x11_forwarding=False,
        allow_scp=False,
        gss_host=None,
        login_timeout=LOGIN_TIMEOUT,
        keepalive_interval=KEEPALIVE,
        keepalive_count_max=3,
    )
