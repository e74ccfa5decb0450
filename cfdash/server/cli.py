"""``cfdash serve``: run the embedded exchange until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import signal
import sys
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

from ..core.engine.config import EngineConfig
from .app import ExchangeServer
from .faults import ENV_VAR, Faults
from .outbound import MAX_PER_ADDRESS, OUTPUT_BUDGET, PAUSE_AT, STALL_TIMEOUT
from .store import Store, default_path
from .traders import trader_ids
from .users import add_funded_user


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    parser.add_argument(
        "--port", type=int, default=8765, help="port (default: 8765; 0 = any free port)"
    )
    parser.add_argument(
        "--db",
        default=None,
        help=f"SQLite database (default: {default_path()}); ':memory:' for a throwaway exchange",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed the simulation (traders)")
    parser.add_argument(
        "--no-traders", dest="traders", action="store_false", help="no simulated traders"
    )
    parser.add_argument(
        "--add-user",
        type=int,
        metavar="ID",
        help="add (or re-key) a user before serving; the passphrase is read from the terminal",
    )
    parser.add_argument("--cookie", help="login cookie of the user added with --add-user")
    defaults = EngineConfig()
    parser.add_argument(
        "--maker-fee",
        type=fee_rate,
        default=defaults.maker_fee,
        metavar="PERCENT",
        help=f"fee on the resting order's owner (default: {percent(defaults.maker_fee)}%)",
    )
    parser.add_argument(
        "--taker-fee",
        type=fee_rate,
        default=defaults.taker_fee,
        metavar="PERCENT",
        help=f"fee on the aggressor (default: {percent(defaults.taker_fee)}%)",
    )
    parser.add_argument(
        "--max-connections-per-ip",
        type=non_negative,
        default=MAX_PER_ADDRESS,
        metavar="N",
        help="connections one IP address may have open at once; more are refused with "
        f"HTTP 429 (default: {MAX_PER_ADDRESS}; 0 = no cap)",
    )
    parser.add_argument(
        "--output-budget",
        type=non_negative,
        default=OUTPUT_BUDGET // 2**20,
        metavar="MIB",
        help="MiB the server holds for all its readers together; over it, the readers "
        "furthest behind are disconnected (default: %(default)s; 0 = no budget). A "
        f"connection whose reader is {PAUSE_AT // 1024} KiB behind is not read until it "
        f"catches up, and is closed if it takes nothing for {STALL_TIMEOUT:g} s",
    )
    parser.add_argument(
        "--limit",
        type=limit_option,
        action="append",
        default=[],
        metavar="NAME=COUNT/SECONDS",
        help=f"change one rate limit (repeatable); NAME is one of: {', '.join(LIMIT_NAMES)}",
    )
    # Test-only fault injection (also CFDASH_TEST_FAULTS=1): hidden from --help.
    parser.add_argument("--test-faults", action="store_true", help=argparse.SUPPRESS)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = limits_help(defaults)


LIMIT_NAMES = {
    "auth": "auth_limit",
    "order": "order_limit",
    "info": "info_limit",
    "connection-auth-fail": "session_auth_fail_limit",
    "address-auth-fail": "address_auth_fail_limit",
    "address-order": "address_order_limit",
    "watch": "watch_limit",
    "address-watch": "address_watch_limit",
}
"""``--limit`` names -> the ``EngineConfig`` fields they set (see ``limits_help``)."""


def limit_option(text: str) -> tuple[str, tuple[int, float]]:
    """``"watch=100/10"`` -> ``("watch_limit", (100, 10.0))``; argparse reports the error."""
    name, _, value = text.partition("=")
    count, _, seconds = value.partition("/")
    field = LIMIT_NAMES.get(name.strip())
    try:
        limit = (int(count), float(seconds))
    except ValueError:
        limit = (0, 0.0)
    if field is None or limit[0] < 1 or not 0 < limit[1] < float("inf"):
        raise argparse.ArgumentTypeError(
            f"not NAME=COUNT/SECONDS with a known NAME and positive numbers: {text!r}"
        )
    return field, limit


def _per(limit: tuple[int, float]) -> str:
    count, window = limit
    return f"{count:,} per {window:,.0f} s"


def limits_help(config: EngineConfig) -> str:
    """The rate limits the exchange enforces, for ``--help`` (error 6 when one is exceeded)."""
    return "\n".join(
        [
            "rate limits (error 6 when one is exceeded):",
            f"  open orders: {config.max_open_orders:,} per user",
            f"  authentications: {_per(config.auth_limit)} per user, counting only attempts",
            "    with the user's right cookie; failed ones (unknown user, wrong cookie) count",
            f"    against the connection ({_per(config.session_auth_fail_limit)}) and the peer"
            f" address ({_per(config.address_auth_fail_limit)}),",
            "    which past that are refused before any cookie is checked",
            f"  orders, cancels, market estimates: {_per(config.order_limit)} per user;",
            "    anonymous estimates the same per connection and"
            f" {_per(config.address_order_limit)} per peer address",
            f"  balances, open orders, trade volume: {_per(config.info_limit)} per connection",
            f"  WatchOrders/WatchTicker (on or off): {_per(config.watch_limit)} per connection and",
            f"    {_per(config.address_watch_limit)} per peer address",
            "A peer address is an IPv4 address or an IPv6 /64. The per-user and per-connection",
            "limits are LIMITS.md's; the per-address, failed-login and watch limits are",
            "cfdash's own (--limit changes any of them). All are kept in memory: a restart",
            "resets them.",
        ]
    )


def non_negative(text: str) -> int:
    """An integer >= 0; argparse reports a ValueError."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


def fee_rate(text: str) -> Fraction:
    """A fee in percent ("0.25", "0.25%") as an exact rate; argparse reports a ValueError."""
    try:
        value = Decimal(text.strip().removesuffix("%"))
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a percentage: {text!r}") from None
    if not value.is_finite() or not 0 <= value < 100:
        raise argparse.ArgumentTypeError(f"a fee must be from 0 to under 100 percent: {text!r}")
    return Fraction(value) / 100


def percent(rate: Fraction) -> str:
    """``Fraction(1, 400)`` -> ``"0.25%"``."""
    return f"{(Decimal(rate.numerator) / rate.denominator * 100).normalize():f}%"


def _read_passphrase(user_id: int) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(f"Passphrase for user {user_id}: ")
    return sys.stdin.readline().rstrip("\r\n")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if (args.add_user is None) != (args.cookie is None):
        print("cfdash serve: --add-user and --cookie go together", file=sys.stderr)
        return 2
    if args.add_user is not None and (
        not 0 < args.add_user < 2**64 or args.add_user in trader_ids()
    ):
        print(f"cfdash serve: user id {args.add_user} is not available", file=sys.stderr)
        return 2
    passphrase = None
    if args.add_user is not None:
        passphrase = _read_passphrase(args.add_user)
        if not passphrase:
            print("cfdash serve: empty passphrase", file=sys.stderr)
            return 2
    db = args.db or str(default_path())
    try:
        store = Store(db if db == ":memory:" else Path(db))
    except Exception as exc:  # StoreError, sqlite3.DatabaseError, OSError
        print(f"cfdash serve: cannot open {db}: {exc}", file=sys.stderr)
        return 1
    faults = None
    if getattr(args, "test_faults", False) or os.environ.get(ENV_VAR) == "1":
        faults = Faults()
        print("cfdash serve: TEST FAULT INJECTION ENABLED", file=sys.stderr)
    config = EngineConfig(
        maker_fee=args.maker_fee, taker_fee=args.taker_fee, **dict(getattr(args, "limit", []))
    )
    server = ExchangeServer(
        store,
        config=config,
        seed=args.seed,
        traders=args.traders,
        faults=faults,
        max_per_ip=args.max_connections_per_ip,
        output_budget=args.output_budget * 2**20,
    )
    try:
        core = server.open()
    except Exception as exc:
        store.close()
        print(f"cfdash serve: cannot load the exchange state from {db}: {exc}", file=sys.stderr)
        return 1
    if args.add_user is not None:
        assert passphrase is not None
        new = add_funded_user(core, args.add_user, args.cookie, passphrase)
        del passphrase
        print(f"{'added' if new else 're-keyed'} user {args.add_user}", file=sys.stderr)
    return asyncio.run(_serve(server, args.host, args.port))


async def _serve(server: ExchangeServer, host: str, port: int) -> int:
    try:
        await server.start(host, port)
    except OSError as exc:
        print(f"cfdash serve: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        await server.stop()
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    print(f"listening on {server.url}", flush=True)
    stopping = asyncio.ensure_future(stop.wait())
    failing = asyncio.ensure_future(server.wait_failure())
    await asyncio.wait([stopping, failing], return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    failing.cancel()
    await server.stop()
    return 1 if server.failure is not None else 0
