"""One SSH session: a child dashboard on a pty of its own, bridged to the SSH channel.

The child (``python -m cfdash.ssh.child``) runs in a new session with the pty's slave side on 0,
1 and 2, sized to the client's terminal; its output is read from the master side as it comes
(``loop.add_reader``, non-blocking) and written to the channel, the client's keys are written
to the master. A window change sets the pty's size (the kernel sends the child SIGWINCH). The
child exiting (``q``, or a crash) ends this session only, with its exit status; the connection
dropping hangs the pty up and terminates the child (SIGTERM, then SIGKILL after ``GRACE``).
When the channel cannot take more (a slow client), the master is not read until it can, so the
child blocks on its writes rather than the server buffering without end.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
import signal
import struct
import termios
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import asyncssh

if TYPE_CHECKING:
    from asyncio.subprocess import Process

log = logging.getLogger("cfdash.ssh")

GRACE = 3.0
"""Seconds a child has to exit after SIGTERM before it is killed."""
NO_PTY = b"cfdash: this server shows a dashboard: connect with a terminal (ssh -t)\r\n"
READ_SIZE = 65536


@dataclass(frozen=True)
class Launch:
    """How to start a session's child: its command line, its environment (no credentials)
    and what to write on its credentials pipe (``b""``: no pipe)."""

    argv: Sequence[str]
    env: dict[str, str]
    credentials: bytes = b""


def set_size(fd: int, columns: int, rows: int) -> None:
    """Set the pty's window size (on the master: the slave's foreground group gets SIGWINCH)."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", max(rows, 1), max(columns, 1), 0, 0))


def get_size(fd: int) -> tuple[int, int]:
    """The pty's (columns, rows)."""
    rows, columns, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    return columns, rows


class DashboardSession(asyncssh.SSHServerSession[bytes]):
    """An SSH session whose shell is a dashboard. ``admit(session)`` says whether there is room
    (else the refusal to print); ``done(session)`` is called once it has ended."""

    def __init__(
        self,
        number: int,
        who: str,
        launch: Callable[[str, Mapping[str, str]], Launch],
        admit: Callable[[DashboardSession], bytes | None],
        done: Callable[[DashboardSession], None],
        closed: Callable[[], None] = lambda: None,
    ) -> None:
        self.number = number
        self.who = who  # "key SHA256:... from HOST:PORT", for the log
        self._launch = launch
        self._admit = admit
        self._done = done
        self._closed = closed  # the channel is closed: the connection may go
        self._chan: asyncssh.SSHServerChannel[bytes] | None = None
        self.term = ""
        self.size: tuple[int, int] | None = None  # the client's (columns, rows); None: no pty
        self.master = -1
        self.proc: Process | None = None
        self._pending = b""  # keys not yet taken by the pty
        self._reading = False
        self._paused = False
        self._task: asyncio.Task[None] | None = None
        self._stopping: asyncio.Future[None] | None = None
        self._ended = False
        self.started = time.monotonic()

    # -- asyncssh callbacks ----------------------------------------------------------------
    def connection_made(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:
        self._chan = chan

    def pty_requested(
        self, term_type: str, term_size: tuple[int, int, int, int], term_modes: object
    ) -> bool:
        self.term = term_type
        self.size = (term_size[0] or 80, term_size[1] or 24)
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        return True  # a command is ignored: the session is the dashboard (or the no-pty note)

    def subsystem_requested(self, subsystem: str) -> bool:
        return False  # no sftp, no scp

    def session_started(self) -> None:
        assert self._chan is not None
        if self.size is None:
            log.info("session %d (%s): no pty, closed", self.number, self.who)
            self._refuse(NO_PTY)
            return
        refusal = self._admit(self)
        if refusal is not None:
            log.info("session %d (%s): refused: %s", self.number, self.who, refusal.decode())
            self._refuse(refusal)
            return
        self._task = asyncio.ensure_future(self._run())

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        if self.master < 0:
            return
        self._pending += data
        self._write_keys()

    def eof_received(self) -> bool:
        return True  # the dashboard goes on until it quits or the connection goes

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        self.size = (width or 80, height or 24)
        if self.master >= 0:
            with contextlib.suppress(OSError):
                set_size(self.master, *self.size)

    def pause_writing(self) -> None:
        log.debug("session %d: the client is behind: not reading the dashboard", self.number)
        self._paused = True
        self._stop_reading()

    def resume_writing(self) -> None:
        log.debug("session %d: the client caught up", self.number)
        self._paused = False
        self._start_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._chan = None
        self._closed()
        if self._task is not None and not self._task.done():
            self._close_master()  # a hang-up: the dashboard exits by itself...
            self._stopping = asyncio.ensure_future(self.stop())  # ...or is made to
        elif self._task is None:
            self._end(None)

    # -- the child -------------------------------------------------------------------------
    async def _run(self) -> None:
        status: int | None = None
        try:
            status = await self._spawn_and_wait()
        except Exception:
            log.exception("session %d (%s): the dashboard failed", self.number, self.who)
            status = 1
        finally:
            self._close_master()
            self._end(status)

    async def _spawn_and_wait(self) -> int:
        assert self.size is not None
        client_env = self._chan.get_environment() if self._chan is not None else {}
        launch = self._launch(self.term or "xterm-256color", client_env)
        self.master, slave = os.openpty()
        set_size(self.master, *self.size)
        os.set_blocking(self.master, False)
        passed: tuple[int, ...] = ()
        argv = list(launch.argv)
        try:
            if launch.credentials:
                read_end, write_end = os.pipe()
                passed = (read_end,)
                os.write(write_end, launch.credentials)  # far under a pipe's buffer
                os.close(write_end)
                argv += ["--credentials-fd", str(read_end)]
            self.proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                start_new_session=True,
                pass_fds=passed,
                env=launch.env,
            )
        finally:
            os.close(slave)
            for fd in passed:
                os.close(fd)
        log.info(
            "session %d (%s): started, %dx%d, %s, child %d",
            self.number,
            self.who,
            *self.size,
            self.term or "?",
            self.proc.pid,
        )
        self._start_reading()
        status = await self.proc.wait()
        self._drain()
        return status

    async def stop(self) -> None:
        """End the child: SIGTERM, then SIGKILL after ``GRACE``; returns once it is reaped."""
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        self._signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(proc.wait()), GRACE)
        except TimeoutError:
            log.warning("session %d: the dashboard ignored SIGTERM; killed", self.number)
            self._signal(signal.SIGKILL)
            await proc.wait()

    def _signal(self, sig: int) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)  # its own process group: all of it

    # -- the pump --------------------------------------------------------------------------
    def _start_reading(self) -> None:
        if self.master >= 0 and not self._reading and not self._paused:
            asyncio.get_running_loop().add_reader(self.master, self._read)
            self._reading = True

    def _stop_reading(self) -> None:
        if self._reading:
            asyncio.get_running_loop().remove_reader(self.master)
            self._reading = False

    def _read(self) -> None:
        try:
            data = os.read(self.master, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:  # EIO: every slave side is closed (the child has gone)
            data = b""
        if not data:
            self._stop_reading()
            return
        if self._chan is not None:
            self._chan.write(data)

    def _drain(self) -> None:
        """What the child wrote just before exiting (restoring the terminal), to the client."""
        while self.master >= 0 and self._chan is not None:
            try:
                data = os.read(self.master, READ_SIZE)
            except OSError:
                return
            if not data:
                return
            self._chan.write(data)

    def _write_keys(self) -> None:
        while self._pending and self.master >= 0:
            try:
                written = os.write(self.master, self._pending)
            except BlockingIOError:
                loop = asyncio.get_running_loop()
                loop.add_writer(self.master, self._keys_writable)
                return
            except OSError as exc:
                if exc.errno != errno.EIO:
                    log.warning("session %d: keys lost: %s", self.number, exc)
                self._pending = b""
                return
            self._pending = self._pending[written:]

    def _keys_writable(self) -> None:
        asyncio.get_running_loop().remove_writer(self.master)
        self._write_keys()

    def _close_master(self) -> None:
        if self.master < 0:
            return
        self._stop_reading()
        loop = asyncio.get_running_loop()
        loop.remove_writer(self.master)
        os.close(self.master)
        self.master = -1

    # -- the end ---------------------------------------------------------------------------
    def _refuse(self, message: bytes) -> None:
        assert self._chan is not None
        self._chan.write(message)
        self._chan.exit(1)

    def _end(self, status: int | None) -> None:
        if self._ended:
            return
        self._ended = True
        if status is not None:
            size = "x".join(map(str, self.size or ()))
            log.info(
                "session %d (%s): ended after %.1f s, exit %s, last size %s",
                self.number,
                self.who,
                time.monotonic() - self.started,
                status,
                size,
            )
        self._done(self)
        if self._chan is not None:
            with contextlib.suppress(OSError, asyncssh.Error):
                self._chan.exit(status if status is not None and status >= 0 else 1)
