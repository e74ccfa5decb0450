"""Noticing that the terminal has gone (an SSH drop, a killed tmux) and making sure cfdash ends.

When the master side of a pseudo-terminal closes (sshd on a dropped connection, tmux on
``kill-session``), Linux hangs up the slave: on every file open on it, ``tcgetattr`` then fails
with EIO, reads return end-of-file at once (Textual's input thread, which retries, spins) and
writes fail with EIO (Textual's writer thread dies of it; once its bounded queue is full, the
next write blocks the event loop for good). SIGHUP, then SIGCONT, come only to the leader of the
session whose controlling terminal it was, not to a program started with ``setsid``; on that
SIGCONT Textual restarts its application mode on the dead terminal, which is what hung exits.

So :class:`TerminalGuard` watches from a thread of its own: it wakes on SIGHUP and checks the
terminal a few times a second. Once the terminal is gone it points the output descriptors that
were on it at ``/dev/null`` (so that the shutdown's writes succeed), asks the app to exit, and
if the process still runs ``grace`` seconds later, runs the cleanup (closing the client) unless
that has run, and ends the process with ``os._exit(LOST_STATUS)``.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import signal
import termios
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger("cfdash.tui")

LOST_STATUS = 129
"""The exit status once the terminal is gone: 128 + SIGHUP, as a shell reports a hung-up job."""
_GONE = frozenset({errno.EIO, errno.ENOTTY, errno.EBADF, errno.ENXIO})
_OUTPUTS = (1, 2)
"""stdout and stderr: pointed at /dev/null once gone. Not stdin: Textual's input thread may be
between its ``select`` and its ``read`` on it, and a read of something else could block."""


def terminals(fds: Iterable[int] = (0, 1, 2)) -> tuple[int, ...]:
    """Those of ``fds`` that are terminals now."""
    return tuple(fd for fd in fds if os.isatty(fd))


def gone(fd: int) -> bool:
    """Whether the terminal on ``fd`` was hung up (or ``fd`` is no longer a terminal)."""
    try:
        termios.tcgetattr(fd)
    except termios.error as exc:
        return bool(exc.args) and exc.args[0] in _GONE
    return False


class TerminalGuard:
    """Exits promptly, and surely, once the terminal is gone (see the module's docstring).

    ``start`` (in the main thread, before the app runs) and ``finish`` (after it) bracket the
    app; ``finish`` runs ``cleanup``, which runs once, by ``finish`` or by the watchdog.
    """

    def __init__(
        self,
        cleanup: Callable[[], None],
        *,
        fds: Iterable[int] | None = None,
        interval: float = 0.25,
        grace: float = 2.0,
        cleanup_timeout: float = 1.0,
        status: int = LOST_STATUS,
    ) -> None:
        """``fds``: the terminal's descriptors (default: those of 0, 1, 2 that are terminals
        at ``start``); ``interval``: between checks; ``grace``: from the loss to ``os._exit``,
        which waits ``cleanup_timeout`` more for a cleanup it had to start itself."""
        self._cleanup = cleanup
        self._fds = None if fds is None else tuple(fds)
        self._interval = interval
        self._grace = grace
        self._cleanup_timeout = cleanup_timeout
        self._status = status
        self.reason: str | None = None
        """Why the terminal counts as gone (None while it does not)."""
        self._on_lost: Callable[[], None] = lambda: None
        self._hup = False
        self._stopping = False
        self._cleanup_lock = threading.Lock()
        self._cleanup_started = False
        self._cleaned = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        for fd in (self._wake_r, self._wake_w):
            os.set_blocking(fd, False)
        self._previous: Any = None
        self._installed = False
        self._thread = threading.Thread(target=self._watch, name="cfdash-terminal", daemon=True)

    @property
    def lost(self) -> bool:
        return self.reason is not None

    def start(self, on_lost: Callable[[], None]) -> None:
        """Handle SIGHUP and start watching; ``on_lost`` (from the guard's thread, must not
        block) asks the app to exit."""
        self._on_lost = on_lost
        if self._fds is None:
            self._fds = terminals()
        if hasattr(signal, "SIGHUP"):
            with contextlib.suppress(ValueError):  # not the main thread: the checks remain
                self._previous = signal.signal(signal.SIGHUP, self._sighup)
                self._installed = True
        self._thread.start()

    def finish(self) -> None:
        """The cleanup (unless the watchdog runs it), then stand down if the terminal is still
        there; once it is gone the watchdog stays, in case the interpreter's exit hangs."""
        self._run_cleanup()
        if self.lost:
            return
        self._stopping = True
        self._wake()
        if self._thread.is_alive():
            self._thread.join(1.0)
        if self.lost or self._thread.is_alive():
            return
        if self._installed:
            previous = signal.SIG_DFL if self._previous is None else self._previous
            with contextlib.suppress(ValueError):
                signal.signal(signal.SIGHUP, previous)
            self._installed = False
        wake_r, wake_w = self._wake_r, self._wake_w
        self._wake_r = self._wake_w = -1
        for fd in (wake_r, wake_w):
            if fd >= 0:
                os.close(fd)

    # -- the guard's thread ----------------------------------------------------------------
    def _sighup(self, signum: int, frame: object) -> None:
        # A hang-up's SIGCONT must not restart Textual's application mode (a new writer
        # thread, the terminal set up again, from its signal handler) on the dead terminal:
        # that filled the writer's queue and hung the exit. Both signals are pending together
        # and Python runs their handlers in order, SIGHUP first.
        if hasattr(signal, "SIGCONT"):
            signal.signal(signal.SIGCONT, signal.SIG_DFL)
        self._hup = True
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # the pipe is full: it wakes anyway
            os.write(self._wake_w, b"!")

    def _sleep(self, timeout: float) -> None:
        select.select([self._wake_r], [], [], timeout)
        with contextlib.suppress(OSError):
            os.read(self._wake_r, 512)

    def _gone_fds(self) -> list[int]:
        return [fd for fd in self._fds or () if gone(fd)]

    def _watch(self) -> None:
        while self.reason is None:
            self._sleep(self._interval)
            if self._hup:
                self.reason = "SIGHUP"
            elif self._gone_fds():
                self.reason = "the terminal is gone"
            elif self._stopping:
                return
        deadline = time.monotonic() + self._grace
        detached = self._detach(set())
        log.warning("%s: exiting", self.reason)
        try:
            self._on_lost()
        except Exception:
            log.exception("could not ask the app to exit")
        # After a SIGHUP the terminal may go only now (tmux signals before it closes the pty).
        while (left := deadline - time.monotonic()) > 0:
            self._sleep(min(left, 0.05))
            detached = self._detach(detached)
        self._force()

    def _detach(self, detached: set[int]) -> set[int]:
        """Point the outputs whose terminal is gone at /dev/null; those now detached."""
        todo = [fd for fd in _OUTPUTS if fd in (self._fds or ()) and fd not in detached]
        todo = [fd for fd in todo if gone(fd)]
        if not todo:
            return detached
        try:
            null = os.open(os.devnull, os.O_WRONLY)
        except OSError:
            return detached
        try:
            for fd in todo:
                with contextlib.suppress(OSError):
                    os.dup2(null, fd)
                    detached.add(fd)
        finally:
            os.close(null)
        return detached

    def _force(self) -> None:
        """The graceful exit did not end the process: the cleanup if need be, then out."""
        log.warning("still running %.1f s after losing the terminal: ending it", self._grace)
        threading.Thread(target=self._run_cleanup, name="cfdash-cleanup", daemon=True).start()
        if not self._cleaned.wait(self._cleanup_timeout):
            log.warning("the cleanup did not end in %.1f s", self._cleanup_timeout)
        os._exit(self._status)

    def _run_cleanup(self) -> None:
        with self._cleanup_lock:
            if self._cleanup_started:
                return
            self._cleanup_started = True
        try:
            self._cleanup()
        finally:
            self._cleaned.set()
