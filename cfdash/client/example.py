"""``cfdash example``: the seed library's clientExample, on ``cfdash.client.WSClient``.

Watches the XBT:USD orders and ticker, prints every incoming message prefixed by a timestamp and,
when credentials are given, asks for the balances every 5 s. Ctrl-C stops it cleanly.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import threading
import time

from cfdash.client import Assets, WSClient

PASSPHRASE_ENV = "COINFLOOR_PASSPHRASE"


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", help="WebSocket endpoint, in 'ws[s]://<host>[:<port>]' format")
    parser.add_argument(
        "-k", dest="insecure", action="store_true", help="allow insecure SSL connections"
    )
    parser.add_argument(
        "-i", type=int, metavar="core_id", dest="id", default=0, help="the core_id of the user"
    )
    parser.add_argument(
        "-c", metavar="cookie", dest="cookie", default="", help="the cookie, a.k.a. API key"
    )
    parser.add_argument(
        "-p",
        metavar="passphrase",
        dest="phrase",
        default=None,
        help=(
            f"the passphrase (default: ${PASSPHRASE_ENV}; with -i and -c: asked for in a "
            "terminal, else read from stdin, one line). "
            "Avoid -p: the command line is visible to other users of the machine (ps); "
            f"set ${PASSPHRASE_ENV} or answer the prompt instead"
        ),
    )
    parser.add_argument(
        "--interval", type=float, default=5.0, help="seconds between balance requests (5)"
    )


CMDLINE_WARNING = (
    "warning: -p puts the passphrase on the command line, where it is visible to other users "
    f"of this machine (ps, /proc); set ${PASSPHRASE_ENV} or leave -p out to be asked for it"
)


NO_PASSPHRASE = (
    "cfdash example: no passphrase: stdin is not a terminal and gave none; pipe it in "
    f"(one line), set ${PASSPHRASE_ENV}, or run in a terminal to be asked"
)


class NoPassphrase(Exception):
    """-i and -c were given, and no passphrase came from anywhere."""


def _passphrase(args: argparse.Namespace) -> str:
    """From -p (warned about), ``$COINFLOOR_PASSPHRASE``, or, with -i and -c: the terminal
    (asked, not echoed) or else the first line of stdin, as ``cfdash serve --add-user``."""
    if args.phrase:
        print(CMDLINE_WARNING, file=sys.stderr, flush=True)
        return str(args.phrase)
    from_env = os.environ.get(PASSPHRASE_ENV, "")
    if from_env:
        return from_env
    if args.id > 0 and args.cookie:
        if sys.stdin is not None and sys.stdin.isatty():
            return getpass.getpass("Passphrase: ")
        line = "" if sys.stdin is None else sys.stdin.readline()
        phrase = line.rstrip("\r\n")
        if not phrase:
            raise NoPassphrase
        return phrase
    return ""


def run(args: argparse.Namespace) -> int:
    print_lock = threading.Lock()

    def print_out(client: WSClient, message: str) -> None:
        with print_lock:
            print(f"{time.time()}: {message}", flush=True)

    def print_error(client: WSClient, error: object) -> None:
        with print_lock:
            print(f"{time.time()}: error: {error}", file=sys.stderr, flush=True)

    try:
        phrase = _passphrase(args)
    except (KeyboardInterrupt, EOFError):
        return 130
    except NoPassphrase:
        print(NO_PASSPHRASE, file=sys.stderr)
        return 2
    args.phrase = None  # only the derived key outlives this function
    client = WSClient(
        args.url, insecure_ssl=args.insecure, msg_handler=print_out, err_handler=print_error
    )
    credentials_given = args.id > 0 and bool(args.cookie) and bool(phrase)
    try:
        client.WatchOrders(base=Assets["XBT"], counter=Assets["USD"], watch=True)
        if not client.connected:
            return 1  # the error went to print_error
        client.WatchTicker(base=Assets["XBT"], counter=Assets["USD"], watch=True)
        if credentials_given:
            client.set_auth_data(args.id, args.cookie, phrase)
        del phrase
        while True:
            time.sleep(args.interval)
            if not client.connected:
                print_error(client, "connection closed")
                return 1
            if credentials_given:
                client.GetBalances()
    except KeyboardInterrupt:
        return 0
    finally:
        client.stop()
