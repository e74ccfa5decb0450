"""``cfdash ssh [URL]``: serve the dashboard to SSH clients, read-only by default.

Each session runs its own dashboard process (``cfdash.ssh.child``) with its own connection to
the exchange: URL, or else an embedded exchange started here once (as bare ``cfdash`` does),
whose per-address limits are scaled by ``--max-sessions`` since every session reaches it from
127.0.0.1. The credentials (the embedded demo user's, or ``COINFLOOR_*`` from this process's
environment) go to each child on a pipe, never on a command line or in an environment; without
``--trade`` the children show the account but refuse to trade.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncssh

    from cfdash.server.app import ServerThread
    from cfdash.tui.live import Credentials

    from .session import Launch

log = logging.getLogger("cfdash.ssh")

TRADE_WARNING = """\
cfdash ssh: WARNING: --trade: every holder of a key in {keys}
cfdash ssh: WARNING: can place and cancel orders as user {user} with this server's credentials."""
CLIENT_ENV = ("COLORTERM", "LANG", "LC_ALL", "LC_CTYPE", "NO_COLOR")
"""What a client's environment (``SendEnv``) may give its dashboard: how to draw, nothing more."""
HOST_TERMINAL_ENV = frozenset(
    [
        "TERM",
        "COLORTERM",
        "COLUMNS",
        "LINES",
        "TMUX",
        "TMUX_PANE",
        "STY",
        "TERM_PROGRAM",
        "TERM_PROGRAM_VERSION",
        "SSH_AUTH_SOCK",
        "NO_COLOR",
    ]
)
"""This process's terminal, not the client's: not given to the dashboards."""


def configure_parser(parser: argparse.ArgumentParser) -> None:
    from .server import MAX_SESSIONS, default_authorized_keys, default_host_key

    parser.add_argument(
        "url", nargs="?", help="exchange WebSocket URL (default: an embedded exchange)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    parser.add_argument("--port", type=int, default=2222, help="port (default: 2222; 0 = any)")
    parser.add_argument(
        "--authorized-keys",
        type=Path,
        metavar="PATH",
        help=f"public keys allowed in (default: {default_authorized_keys()})",
    )
    parser.add_argument(
        "--host-key",
        type=Path,
        metavar="PATH",
        help=f"the server's key, made on first start (default: {default_host_key()})",
    )
    parser.add_argument(
        "--max-sessions",
        type=int,
        default=MAX_SESSIONS,
        metavar="N",
        help=f"sessions at once; more are refused (default: {MAX_SESSIONS})",
    )
    parser.add_argument(
        "--trade",
        action="store_true",
        help="let every authorized key trade with this server's credentials (default: view only)",
    )
    parser.add_argument(
        "-k", "--insecure", action="store_true", help="do not verify the exchange's TLS certificate"
    )
    embedded = parser.add_argument_group("embedded exchange (no URL)")
    embedded.add_argument("--seed", type=int, help="seed its simulated traders")
    embedded.add_argument("--db", metavar="PATH", help="keep its state in PATH (default: memory)")
    embedded.add_argument(
        "--no-traders", dest="traders", action="store_false", help="no simulated traders"
    )


def run(args: argparse.Namespace) -> int:
    from cfdash.tui.live import Credentials

    from .server import (
        SetupError,
        default_authorized_keys,
        default_host_key,
        host_key,
        load_authorized_keys,
    )

    _log_to_stderr()
    authorized = args.authorized_keys or default_authorized_keys()
    if args.max_sessions < 1:
        return _fail("--max-sessions must be at least 1", 2)
    if args.url is not None and not args.url.startswith(("ws://", "wss://")):
        return _fail(f"{args.url!r}: expected a ws:// or wss:// URL", 2)
    try:
        load_authorized_keys(authorized)
        key = host_key(args.host_key or default_host_key())
        credentials = Credentials.from_env() if args.url else None
    except (SetupError, ValueError) as exc:
        return _fail(str(exc), 2)
    server = None
    url = args.url
    if url is None:
        try:
            server = start_exchange(args)
        except OSError as exc:
            return _fail(str(exc), 1)
        url = server.url
        credentials = _demo_credentials()
    try:
        secret = b""
        if credentials is not None:
            secret = json.dumps(
                {
                    "COINFLOOR_USER_ID": str(credentials.user_id),
                    "COINFLOOR_COOKIE": credentials.cookie,
                    "COINFLOOR_PASSPHRASE": credentials.passphrase,
                }
            ).encode()
        if args.trade:
            user = credentials.user_id if credentials else "(none: each logs in)"
            print(TRADE_WARNING.format(keys=authorized, user=user), file=sys.stderr, flush=True)
        del credentials
        mode = [] if args.trade else ["--view-only"] if secret else ["--read-only"]
        argv = [sys.executable, "-m", "cfdash.ssh.child", *mode, url]
        if args.insecure:
            argv.append("--insecure")

        def launch(term: str, client_env: Mapping[str, str]) -> Launch:
            return make_launch(argv, term, client_env, secret)

        return asyncio.run(_serve(args, authorized, key, launch))
    finally:
        if server is not None:
            server.stop()


def make_launch(argv: list[str], term: str, client_env: Mapping[str, str], secret: bytes) -> Launch:
    """A session's child: this environment without credentials or this terminal's traits, with
    the client's terminal type and drawing preferences, and this cfdash first on the path."""
    from .session import Launch

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("COINFLOOR_") and key not in HOST_TERMINAL_ENV
    }
    env.update({key: value for key, value in client_env.items() if key in CLIENT_ENV})
    here = str(Path(__file__).resolve().parents[2])  # the directory holding this cfdash
    path = env.get("PYTHONPATH")
    env.update(
        TERM=term,
        PYTHONIOENCODING="utf-8",
        PYTHONPATH=here if not path else here + os.pathsep + path,
    )
    return Launch(argv, env, secret)


async def _serve(
    args: argparse.Namespace,
    authorized: Path,
    key: asyncssh.SSHKey,
    launch: Callable[[str, Mapping[str, str]], Launch],
) -> int:
    from .server import Sessions, listen

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sessions = Sessions(launch, args.max_sessions)
    try:
        acceptor = await listen(args.host, args.port, authorized, key, sessions)
    except OSError as exc:
        return _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", 1)
    host, port = acceptor.sockets[0].getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"listening on ssh://{shown}:{port}/", flush=True)
    print(f"host key {key.get_fingerprint()}", flush=True)
    mode = "trading ON" if args.trade else "view only"
    log.info("%s; at most %d sessions; keys from %s", mode, args.max_sessions, authorized)
    await stop.wait()
    log.info("stopping: %d sessions to end", len(sessions.running))
    acceptor.close()
    await sessions.stop()
    await acceptor.wait_closed()
    return 0


def start_exchange(args: argparse.Namespace) -> ServerThread:
    """The embedded exchange, its per-address limits scaled by the session cap: every session
    connects from 127.0.0.1, and each should have what one dashboard alone would."""
    from cfdash.core.engine.config import EngineConfig
    from cfdash.server.app import ServerThread
    from cfdash.server.outbound import MAX_PER_ADDRESS

    n = args.max_sessions
    base = EngineConfig()
    config = EngineConfig(
        address_auth_fail_limit=_times(base.address_auth_fail_limit, n),
        address_order_limit=_times(base.address_order_limit, n),
        address_watch_limit=_times(base.address_watch_limit, n),
    )
    server = ServerThread(
        args.db or ":memory:",
        seed=args.seed,
        traders=args.traders,
        config=config,
        max_per_ip=MAX_PER_ADDRESS + 2 * n,  # a reconnecting session may hold two for a while
    )
    try:
        server.start()
    except Exception as exc:
        server.stop()
        raise OSError(f"cannot start the embedded exchange: {exc}") from None
    return server


def _times(limit: tuple[int, float], n: int) -> tuple[int, float]:
    return limit[0] * n, limit[1]


def _demo_credentials() -> Credentials:
    from cfdash.server.users import DEMO_COOKIE, DEMO_PASSPHRASE, DEMO_USER_ID
    from cfdash.tui.live import Credentials

    return Credentials(DEMO_USER_ID, DEMO_COOKIE, DEMO_PASSPHRASE)


def _log_to_stderr() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s cfdash ssh: %(message)s"))
    log.addHandler(handler)
    debug = bool(os.environ.get("CFDASH_SSH_DEBUG"))  # for the tests: flow control, channels
    log.setLevel(logging.DEBUG if debug else logging.INFO)
    log.propagate = False
    protocol = logging.getLogger("asyncssh")
    protocol.setLevel(logging.INFO if debug else logging.WARNING)  # it logs no secret either way
    protocol.addHandler(handler)


def _fail(message: str, status: int) -> int:
    print(f"cfdash ssh: {message}", file=sys.stderr)
    return status
