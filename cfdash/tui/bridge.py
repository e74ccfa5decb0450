"""``Bridge``: from the client's event thread to the app, one coalesced ``Batch`` at a time.

The event thread may deliver tens of thousands of notices a second; the app can repaint a few
dozen times a second at most. So the event thread only records *which* views changed (a set
update under a lock, and waking the flusher if it sleeps) and never touches widgets. A single
flusher thread takes the whole set, builds one ``Batch`` from the views' current state (so
everything since the last flush is coalesced), hands it to the sink, which blocks until the app
has applied it (one call in flight), then waits ``interval`` before the next flush. Under a
firehose the screen shows the latest state, never a backlog; once it stops, the next flush
shows the true state. The flusher also wakes every ``poll`` seconds with nothing dirty, so
that the builder can report changes nobody announces (connection state, latency).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet

from cfdash.tui.source import Batch, Sink

log = logging.getLogger(__name__)

Builder = Callable[[AbstractSet[str]], Batch | None]
"""(names of the views changed since the last flush) -> the batch to push, or None."""


class Bridge:
    """Coalesces change notices into throttled, batched sink calls from one flusher thread."""

    def __init__(
        self,
        build: Builder,
        sink: Sink,
        *,
        interval: float = 0.04,
        poll: float = 0.5,
        name: str = "cfdash-bridge",
    ) -> None:
        self.build = build
        self.sink = sink
        self.interval = interval
        """Minimum time between two sink calls, in seconds."""
        self.poll = poll
        self.notices = 0
        """``changed`` calls so far (each is one frame that changed some view)."""
        self.pushes = 0
        """Sink calls so far."""
        self._dirty: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        if not self._thread.is_alive() and not self._stop.is_set():
            self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        """Stop the flusher (waits at most ``timeout``: a sink call may be blocked)."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def changed(self, names: Iterable[str]) -> None:
        """Record changed view names (any thread; cheap: called once per frame)."""
        self.notices += 1
        with self._lock:
            self._dirty.update(names)
        if not self._wake.is_set():
            self._wake.set()

    def discard(self, names: Iterable[str]) -> None:
        """Forget pending changes of these views (a market no longer shown)."""
        with self._lock:
            self._dirty.difference_update(names)

    def flush_now(self) -> None:
        """Wake the flusher at once (it still respects ``interval``)."""
        self._wake.set()

    def _run(self) -> None:
        stop, wake = self._stop, self._wake
        while not stop.is_set():
            wake.wait(self.poll)
            if stop.is_set():
                return
            wake.clear()  # before taking the set: a change after this wakes us again
            with self._lock:
                dirty, self._dirty = self._dirty, set()
            try:
                batch = self.build(dirty)
                if batch is None:
                    continue
                self.sink(batch)  # blocks until applied; no lock is held here
            except Exception:
                log.exception("dashboard update failed")
                continue
            self.pushes += 1
            if stop.wait(self.interval):
                return
