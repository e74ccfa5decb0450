"""``cfdash [URL]``: the dashboard on a live exchange, or on an embedded one.

Without a URL (and no ``endpoint`` in the settings file) an embedded exchange starts in this
process on a free loopback port (in memory unless ``--db``), and the dashboard connects to it
over a real WebSocket as the AUTH.md demo user. With a URL, credentials come from
``COINFLOOR_USER_ID``/``COINFLOOR_COOKIE``/``COINFLOOR_PASSPHRASE``, or else from the login
dialog, which the first private action opens (the public market needs none).
Heavy imports (Textual, the server) happen in ``run`` so that ``cfdash --help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cfdash.tui.config import THEMES, ConfigError, config_path, market_option

if TYPE_CHECKING:
    from cfdash.server.app import ServerThread
    from cfdash.tui.app import DashboardApp
    from cfdash.tui.live import ClientSource

log = logging.getLogger("cfdash.tui")
INSECURE_WARNING = "TLS verification is OFF (-k): the connection can be intercepted."

# The dashboard's connection, tuned for a person watching (the library's defaults suit scripts).
PING_INTERVAL = 1.0
"""Seconds between keep-alive pings: a live latency, and a silent exchange shows in the status
bar ("no reply for 2s") within about 3 s; with no pong for ``socket_timeout`` (5 s) the
connection is dropped and replaced."""
BACKOFF_BASE, BACKOFF_CAP = 0.25, 2.5
"""Reconnection waits (full jitter, first retry at once): never more than 2.5 s, so the
dashboard is live again within about 3 s of the exchange's return, whatever the outage."""
STABLE_AFTER = 3.0
"""A connection that lasted this long resets the waits and the attempt count."""


class UsageError(Exception):
    """Bad options: printed as ``cfdash: <message>``, exit status 2."""


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "url",
        nargs="?",
        help="exchange WebSocket URL (ws:// or wss://); default: an embedded exchange",
    )
    parser.add_argument("--read-only", action="store_true", help="never log in or trade")
    parser.add_argument("--market", metavar="BASE:COUNTER", help="market to show (XBT:GBP)")
    parser.add_argument("--theme", choices=sorted(THEMES), help="colour theme")
    parser.add_argument("--log", metavar="FILE", help="write a log to FILE (never secrets)")
    parser.add_argument("--debug", action="store_true", help="log at DEBUG instead of INFO")
    parser.add_argument(
        "-k", "--insecure", action="store_true", help="do not verify TLS certificates"
    )
    parser.add_argument("--config", metavar="FILE", help=f"settings file (default: {_cfg()})")
    embedded = parser.add_argument_group("embedded exchange (no URL)")
    embedded.add_argument(
        "--embedded", action="store_true", help="use it even if the settings name an endpoint"
    )
    embedded.add_argument("--seed", type=int, help="seed its simulated traders")
    embedded.add_argument("--db", metavar="PATH", help="keep its state in PATH (default: memory)")
    embedded.add_argument(
        "--no-traders", dest="traders", action="store_false", help="no simulated traders"
    )


def _cfg() -> str:
    return str(config_path()).replace(os.path.expanduser("~"), "~", 1)


@dataclass
class Dashboard:
    """A dashboard ready to run, and what to shut down after it."""

    app: DashboardApp
    source: ClientSource
    server: ServerThread | None = None
    notes: list[str] = field(default_factory=list)
    cleanup: Callable[[], None] = lambda: None

    def close(self) -> None:
        self.source.close()
        if self.server is not None:
            self.server.stop()
        self.cleanup()

    def __enter__(self) -> Dashboard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run(args: argparse.Namespace) -> int:
    try:
        dashboard = build(args)
    except (ConfigError, UsageError) as exc:
        print(f"cfdash: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the embedded exchange could not start
        print(f"cfdash: {exc}", file=sys.stderr)
        return 1
    for note in dashboard.notes:
        print(f"cfdash: warning: {note}", file=sys.stderr)
    from cfdash.tui.terminal import LOST_STATUS, TerminalGuard

    # Exit once the terminal is gone (SIGHUP or not), and surely: see cfdash.tui.terminal.
    guard = TerminalGuard(dashboard.close)
    app = dashboard.app
    app.guarded = True  # type: ignore[attr-defined]
    guard.start(lambda: app.leave(LOST_STATUS))  # type: ignore[attr-defined]
    try:
        app.run()
    finally:
        guard.finish()
    return LOST_STATUS if guard.lost else (app.return_code or 0)  # 1 after a crash


def build(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Dashboard:
    """Everything ``run`` starts, without running the app (tests drive it with ``run_test``)."""
    from cfdash.client import WSClient
    from cfdash.tui import config as settings
    from cfdash.tui.live import ClientSource, Credentials

    env = os.environ if env is None else env
    conf = settings.load(None if getattr(args, "config", None) is None else _path(args.config), env)
    pair = conf.market if args.market is None else market_option(args.market, UsageError)
    theme = THEMES[args.theme or conf.theme]
    keymap = dict(conf.keymap)
    _check_keymap(keymap)
    url = None if getattr(args, "embedded", False) else args.url or conf.endpoint
    credentials: Credentials | None = None
    if url is not None:
        if not url.startswith(("ws://", "wss://")):
            raise UsageError(f"{url!r}: expected a ws:// or wss:// URL")
        try:
            credentials = Credentials.from_env(env)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    notes: list[str] = []
    server = None
    fee_rate: Decimal | None = None
    undo_logging = _setup_logging(getattr(args, "log", None), getattr(args, "debug", False))
    if url is None:
        try:
            server, fee_rate = _start_exchange(args)
        except BaseException:
            undo_logging()
            raise
        url = server.url
        credentials = _demo_credentials()
    if args.insecure:
        notes.append(INSECURE_WARNING)
    log.info("connecting to %s%s", url, " (read-only)" if args.read_only else "")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # shown as a note and in the app instead
        client = WSClient(
            url,
            reconnect=True,
            insecure_ssl=args.insecure,
            ping_interval=PING_INTERVAL,
            backoff_base=BACKOFF_BASE,
            backoff_cap=BACKOFF_CAP,
            stable_after=STABLE_AFTER,
        )
    source = ClientSource(
        client,
        credentials=None if args.read_only else credentials,
        read_only=args.read_only,
        fee_rate=fee_rate,
        poll=0.25,  # what nobody announces (a reconnection's countdown, silence) shows soon
    )
    ask_login = not args.read_only and credentials is None
    del credentials
    app = _app_class()(
        source, pair=pair, read_only=args.read_only, login=ask_login, keymap=keymap, theme=theme
    )
    app.login_user_id = conf.user_id
    app.login_cookie = conf.cookie or ""
    app.notes = list(notes)
    if server is not None:
        app.sub_title = "embedded exchange"
    return Dashboard(app, source, server, notes, undo_logging)


def _path(text: str) -> Any:
    from pathlib import Path

    return Path(text).expanduser()


def _demo_credentials() -> Any:
    from cfdash.server.users import DEMO_COOKIE, DEMO_PASSPHRASE, DEMO_USER_ID
    from cfdash.tui.live import Credentials

    return Credentials(DEMO_USER_ID, DEMO_COOKIE, DEMO_PASSPHRASE)


def _start_exchange(args: argparse.Namespace) -> tuple[ServerThread, Decimal]:
    from cfdash.server.app import ServerThread

    server = ServerThread(
        args.db or ":memory:", seed=args.seed, traders=getattr(args, "traders", True)
    )
    try:
        server.start()
    except Exception as exc:
        server.stop()
        raise OSError(f"cannot start the embedded exchange: {exc}") from None
    fee = server.call(lambda s: s.core.config.taker_fee)
    return server, Decimal(fee.numerator) / Decimal(fee.denominator)


def _setup_logging(path: str | None, debug: bool) -> Callable[[], None]:
    """Log to ``path`` (or nowhere: never over the screen); returns the undo."""
    root = logging.getLogger()
    if path is None:
        if not root.handlers:
            root.addHandler(logging.NullHandler())
        return lambda: None
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    )
    # Frame-level logs of the WebSocket libraries would carry cookies and signatures.
    quiet = [logging.getLogger(name) for name in ("websockets", "websocket")]
    levels = [root.level, *(logger.level for logger in quiet)]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for logger in quiet:
        logger.setLevel(logging.INFO)

    def undo() -> None:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(levels[0])
        for logger, level in zip(quiet, levels[1:], strict=True):
            logger.setLevel(level)

    return undo


def _check_keymap(keymap: Mapping[str, str]) -> None:
    from cfdash.tui.app import DashboardApp
    from cfdash.tui.widgets.entry import OrderEntry
    from cfdash.tui.widgets.orders import OpenOrdersView

    known = {
        b.id
        for cls in (DashboardApp, OrderEntry, OpenOrdersView)
        for b in cls.BINDINGS
        if getattr(b, "id", None)
    }
    unknown = sorted(set(keymap) - known)
    if unknown:
        raise ConfigError(
            f"keymap: unknown binding id {unknown[0]!r} (known: {', '.join(sorted(known))})"
        )


def _app_class() -> type[DashboardApp]:
    import asyncio
    import signal

    from cfdash.tui.app import DashboardApp

    class LiveDashboard(DashboardApp):
        """The dashboard plus what a terminal program needs: warnings shown, SIGHUP -> exit
        (by ``run``'s ``TerminalGuard`` when ``guarded``, which also notices a lost terminal)."""

        notes: list[str] = []  # noqa: RUF012 - replaced per instance
        guarded = False
        _mounted_loop: asyncio.AbstractEventLoop | None = None
        _leave_code: int | None = None

        def on_mount(self) -> None:  # runs before DashboardApp.on_mount (both run)
            for note in self.notes:
                self.notify(note, title="Warning", severity="warning", timeout=30)
            self._mounted_loop = asyncio.get_running_loop()
            if self._leave_code is not None:  # asked before the app ran
                self.exit(return_code=self._leave_code)
            if hasattr(signal, "SIGHUP") and not self.guarded:
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.exit)

        def on_unmount(self) -> None:
            if hasattr(signal, "SIGHUP") and not self.guarded:
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)

        def leave(self, return_code: int) -> None:
            """Exit with ``return_code``; from any thread, without blocking (the loop may be
            stuck); before the app runs, as soon as it does."""
            self._leave_code = return_code
            loop = self._mounted_loop
            if loop is not None:
                with contextlib.suppress(RuntimeError):  # closed: the app has ended
                    loop.call_soon_threadsafe(self.exit, None, return_code)

    return LiveDashboard
