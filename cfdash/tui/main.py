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
    from cfdash.tui.live import ClientSource
    from cfdash.tui.live_app import LiveDashboard

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
    parser.add_argument(
        "--view-only",
        action="store_true",
        help="log in with the credentials given to show the account, but never trade "
        "(private mode on)",
    )
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

    app: LiveDashboard
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


def run(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> int:
    """Run the dashboard; ``env``: where the credentials are read (default ``os.environ``)."""
    try:
        dashboard = build(args, env)
    except (ConfigError, UsageError) as exc:
        print(f"cfdash: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the embedded exchange could not start
        print(f"cfdash: {exc}", file=sys.stderr)
        return 1
    for note in dashboard.notes:
        print(f"cfdash: warning: {note}", file=sys.stderr)
    try:
        restore = _on_the_terminal()
    except UsageError as exc:
        dashboard.close()
        print(f"cfdash: {exc}", file=sys.stderr)
        return 2
    from cfdash.tui.terminal import LOST_STATUS, TerminalGuard

    # Exit once the terminal is gone (SIGHUP or not), and surely: see cfdash.tui.terminal.
    guard = TerminalGuard(dashboard.close)
    app = dashboard.app
    app.guarded = True
    guard.start(lambda: app.leave(LOST_STATUS))
    try:
        app.run()
    finally:
        guard.finish()
        restore()
    return LOST_STATUS if guard.lost else (app.return_code or 0)  # 1 after a crash


NO_TERMINAL = "the dashboard needs a terminal: none of stdin, stdout and stderr is one"


def _on_the_terminal() -> Callable[[], None]:
    """Textual draws on stderr, reads keys from stdin and takes the size from stdout: those of
    them that are not the terminal (``cfdash 2>err.log``) are pointed at the one that is while
    the dashboard runs, so that it draws there all the same; returns the undo (the log then
    gets what is written after the dashboard). ``UsageError`` if none is a terminal."""
    terminals = [fd for fd in (2, 1, 0) if os.isatty(fd)]
    if not terminals:
        raise UsageError(NO_TERMINAL)
    others = [fd for fd in (0, 1, 2) if fd not in terminals]
    if not others:
        return lambda: None
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    terminal = os.open(os.ttyname(terminals[0]), os.O_RDWR | os.O_NOCTTY)
    saved = {fd: os.dup(fd) for fd in others}
    try:
        for fd in others:
            os.dup2(terminal, fd)
    finally:
        os.close(terminal)

    def restore() -> None:
        for stream in (sys.__stdout__, sys.__stderr__):
            with contextlib.suppress(Exception):
                stream.flush()  # type: ignore[union-attr]
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)

    return restore


def build(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Dashboard:
    """Everything ``run`` starts, without running the app (tests drive it with ``run_test``)."""
    from cfdash.client import WSClient
    from cfdash.tui import config as settings
    from cfdash.tui.live import ClientSource, Credentials

    env = os.environ if env is None else env
    conf = settings.load(None if getattr(args, "config", None) is None else _path(args.config), env)
    # The command line (this run only), else the last choice made in the app, else the file.
    state_file = settings.state_path(env)
    remembered = settings.load_state(state_file, newer_than=conf.path)
    pair = remembered.market or conf.market
    if args.market is not None:
        pair = market_option(args.market, UsageError)
    theme = THEMES[args.theme or remembered.theme or conf.theme]
    keymap = dict(conf.keymap)
    _check_keymap(keymap, conf.path)
    url = None if getattr(args, "embedded", False) else args.url or conf.endpoint
    view_only = getattr(args, "view_only", False)
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
    mode = " (read-only)" if args.read_only else " (view-only)" if view_only else ""
    log.info("connecting to %s%s", url, mode)
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
    # View-only: logged in (the account shown, private mode on) but every trading key refused.
    ask_login = not (args.read_only or view_only) and credentials is None
    del credentials
    app = _app_class()(
        source,
        pair=pair,
        read_only=args.read_only or view_only,
        login=ask_login,
        keymap=keymap,
        theme=theme,
        private=view_only,
    )
    app.show_expired = conf.show_expired
    # ``remember`` False (an SSH session's dashboard): the viewer's choices are not kept.
    app.remember = _remembering(state_file) if getattr(args, "remember", True) else None
    app.screenshots = getattr(args, "screenshots", True)
    app.login_user_id = conf.user_id
    app.login_cookie = conf.cookie or ""
    app.currency, app.start_costs = conf.currency, dict(conf.start_cost)  # positions panel
    app.notes = tuple(notes)
    if server is not None:
        app.sub_title = "embedded exchange"
    return Dashboard(app, source, server, notes, undo_logging)


def _remembering(path: Any) -> Callable[..., None]:
    """Saves the market or theme just chosen in the app for the next run (``save_state``)."""
    from cfdash.tui import config as settings

    def remember(**choice: Any) -> None:
        try:
            settings.save_state(path, **choice)
        except (OSError, ValueError) as exc:  # a read-only home: the choice is not kept
            log.warning("cannot remember %s in %s: %s", ", ".join(choice), path, exc)

    return remember


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
    fee = server.call(_taker_fee)
    return server, Decimal(fee.numerator) / Decimal(fee.denominator)


def _taker_fee(server: Any) -> Any:
    """The embedded exchange's taker fee (a ``Fraction``); ``server``: its ``ExchangeServer``."""
    assert server.core is not None, "the exchange has started"
    return server.core.config.taker_fee


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


def _check_keymap(keymap: Mapping[str, str], path: object = None) -> None:
    """``ConfigError`` (naming ``path``, the settings file) for a binding id that does not
    exist, or a remapped key that would take another binding's key where both act: among the
    app's own bindings (Textual's and the screen's too), in the order form (its priority
    bindings, with the app's) and in the open orders (with the app's); or a key the form's
    number fields need (digits, point, editing keys) given to a priority binding, which would
    act before the field could take it. Keys are compared as Textual names them
    (``config.normalize_key``)."""
    from textual.app import App
    from textual.binding import Binding, BindingsMap
    from textual.screen import Screen
    from textual.widgets import Input

    from cfdash.tui.app import DashboardApp
    from cfdash.tui.commands import bindings as declared
    from cfdash.tui.config import normalize_key
    from cfdash.tui.widgets.entry import OrderEntry
    from cfdash.tui.widgets.orders import OpenOrdersView

    where = "config" if path is None else str(path)
    known = {
        b.id for cls in (DashboardApp, OrderEntry, OpenOrdersView) for b in declared(cls) if b.id
    }
    unknown = sorted(set(keymap) - known)
    if unknown:
        raise ConfigError(
            f"{where}: keymap: unknown binding id {unknown[0]!r} "
            f"(known: {', '.join(sorted(known))})"
        )

    def bindings(*classes: type) -> list[Binding]:
        found: list[Binding] = []
        for cls in classes:
            for klass in reversed(cls.__mro__):
                declared = klass.__dict__.get("BINDINGS", ())
                for group in BindingsMap(declared).key_to_bindings.values():
                    found.extend(group)
        return found

    palette = Binding(App.COMMAND_PALETTE_BINDING, "command_palette", "Command palette")
    app = [*bindings(DashboardApp, Screen), palette]
    form, orders = bindings(OrderEntry), bindings(OpenOrdersView)

    def keys(binding: Binding) -> set[str]:
        text = keymap.get(binding.id or "", binding.key)
        return {normalize_key(key.strip()) for key in text.split(",")}

    def name(binding: Binding) -> str:
        return binding.id or f"{binding.action!r} (Textual's {binding.key})"

    for chain in (app, [*app, *form], [*app, *orders]):
        by_key: dict[str, list[Binding]] = {}
        for binding in chain:
            for key in keys(binding):
                by_key.setdefault(key, []).append(binding)
        for key, holders in sorted(by_key.items()):
            remapped = [(b, b.id) for b in holders if b.id in keymap]
            for mine, mine_id in remapped:
                for other in holders:
                    if other is mine or mine.action == other.action:
                        continue
                    raise ConfigError(
                        f"{where}: keymap.{mine_id}: {keymap[mine_id or '']!r}: {key!r} is already "
                        f"the key of {name(other)}; give one of them another key"
                    )
    field_keys = {str(digit) for digit in range(10)} | {"full_stop", "comma"}
    field_keys |= set(BindingsMap(Input.BINDINGS).key_to_bindings)
    for binding in [*app, *form]:
        if binding.priority and binding.id in keymap:
            taken = sorted(keys(binding) & field_keys)
            if taken:
                raise ConfigError(
                    f"{where}: keymap.{binding.id}: {keymap[binding.id or '']!r}: the order form's "
                    f"number fields need {taken[0]!r}"
                )


def _app_class() -> type[LiveDashboard]:
    from cfdash.tui.live_app import LiveDashboard

    return LiveDashboard
