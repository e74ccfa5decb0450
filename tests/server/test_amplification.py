"""Snapshot amplification (issue 13, break 1) against a real ``cfdash serve`` process.

An ~80-byte ``WatchOrders`` request returns the whole book (~65 kB here: 990 resting bids):
connections that never read, each toggling the watch on and off, made the server hold every
snapshot (4 MiB per connection, with no total), growing it by hundreds of MB, and starved
everyone else of the loop (100 x 30: +193 MB, a new client's round trip 6.4 s). Now one
address has at most 64 connections, a connection whose reader is behind is not read (nothing
more is rendered for it), all readers together hold at most the output budget, and a
connection's handler yields after a slice of work: the server grows by at most 64 MiB and a
new client still gets its reply.

``python -m tests.server.test_amplification [CONNECTIONS [TOGGLES [serve options...]]]`` runs
the attack once and prints its figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from cfdash.core.assets import Assets
from cfdash.server.outbound import MAX_PER_ADDRESS
from tests.support.processes import ServeProcess
from tests.support.servers import Client

pytestmark = pytest.mark.slow  # seconds of attack on a real server process

MIB = 1024 * 1024
GROWTH_LIMIT = 64 * MIB  # the bound on the server's growth under the attack
CODES = {"base": Assets["XBT"], "counter": Assets["GBP"]}
NEW_CLIENT = "127.0.0.2"
DEEP_ORDERS = 990  # the demo user's resting bids (the spec allows 1,000 open orders a user)


def deepen_book(url: str) -> None:
    """``DEEP_ORDERS`` small bids far below the market (the traders never reach them)."""
    with Client(url) as demo:
        assert demo.authenticate()["error_code"] == 0
        for i in range(DEEP_ORDERS):  # pipelined, then every reply checked
            demo.send(
                {"method": "PlaceOrder", "tag": i + 1, **CODES, "quantity": 10**6, "price": i + 1}
            )
        for i in range(DEEP_ORDERS):
            assert demo.reply(i + 1, timeout=30)["error_code"] == 0


def cpu_seconds(pid: int) -> float:
    """The process's CPU time so far (user + system)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss(pid: int, field_name: str = "VmRSS") -> int:
    """The process's resident set size (or ``VmHWM``, its peak) in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field_name} for process {pid}")


async def snapshot_bytes(url: str) -> int:
    """The size of the XBT:GBP book's snapshot, read by a well-behaved client."""
    async with connect(url, max_size=None, open_timeout=30) as ws:
        await ws.send(json.dumps({"method": "WatchOrders", "tag": 1, **CODES, "watch": True}))
        while True:
            text = await ws.recv()
            if json.loads(text).get("tag") == 1:
                return len(text)


async def attacker(url: str, toggles: int) -> ClientConnection | None:
    """A connection that asks for the book ``toggles`` times and never reads (its receive
    queue holds one frame, then it stops reading the socket); None if the server refused it."""
    try:
        ws = await connect(
            url,
            ping_interval=None,
            max_size=None,
            compression=None,
            max_queue=1,
            open_timeout=30,
        )
    except Exception:  # refused (a per-address cap) or the handshake timed out
        return None
    on = json.dumps({"method": "WatchOrders", **CODES, "watch": True})
    off = json.dumps({"method": "WatchOrders", **CODES, "watch": False})
    with contextlib.suppress(Exception):  # the server may close it under the attack
        for _ in range(toggles):
            await ws.send(on)
            await ws.send(off)
    return ws


async def round_trip(url: str) -> tuple[float, float]:
    """Seconds for a new client to connect, and to get the reply to one command. It comes
    from another address than the attackers' (127.0.0.2: all of 127/8 is loopback on Linux)."""
    started = time.monotonic()
    async with connect(url, open_timeout=60, local_addr=(NEW_CLIENT, 0)) as ws:
        connected = time.monotonic() - started
        await ws.send(json.dumps({"method": "GetBalances", "tag": 5}))
        while True:
            reply = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if reply.get("tag") == 5:
                assert reply["error_code"] == 7  # not authenticated: answered by the engine
                return connected, time.monotonic() - started


async def settled(pid: int, timeout: float = 60.0) -> None:
    """Until the server has worked through what it was sent: its CPU time stops growing."""
    deadline = time.monotonic() + timeout
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        now = cpu_seconds(pid)
        if now - last < 0.02:
            return
        last = now
    raise AssertionError("the server is still busy")


async def attack(url: str, pid: int, connections: int, toggles: int) -> dict[str, Any]:
    """Run the attack; the server's RSS before it, at its peak (``VmHWM``: also any earlier
    peak, so this overstates the growth if anything) and after; the new client's round trip
    while the attackers hold their connections; the server's CPU time."""
    snapshot = await snapshot_bytes(url)
    _, quiet = await round_trip(url)
    await settled(pid)
    before = rss(pid)
    cpu = cpu_seconds(pid)
    started = time.monotonic()
    sockets = await asyncio.gather(*(attacker(url, toggles) for _ in range(connections)))
    sent = time.monotonic() - started
    connected, during = await round_trip(url)
    await settled(pid)
    after, peak = rss(pid), rss(pid, "VmHWM")
    refused = sum(ws is None for ws in sockets)
    for ws in sockets:
        if ws is not None:
            ws.transport.abort()
    return {
        "connections": connections,
        "toggles": toggles,
        "snapshot_bytes": snapshot,
        "refused": refused,
        "sent_s": round(sent, 2),
        "rss_before_mb": round(before / MIB, 1),
        "rss_peak_mb": round(peak / MIB, 1),
        "rss_after_mb": round(after / MIB, 1),
        "growth": max(peak, after) - before,
        "server_cpu_s": round(cpu_seconds(pid) - cpu, 2),
        "quiet_round_trip_s": round(quiet, 3),
        "new_client_connect_s": round(connected, 3),
        "new_client_round_trip_s": round(during, 3),
    }


def run_attack(connections: int, toggles: int, *options: str) -> dict[str, Any]:
    """The attack against a fresh ``cfdash serve`` (no traders: the book is the demo user's)."""
    with ServeProcess("--db", ":memory:", "--no-traders", *options) as server:
        deepen_book(server.url)
        figures = asyncio.run(attack(server.url, server.proc.pid, connections, toggles))
        assert server.proc.poll() is None, "the server died"
    print("\namplification:", figures)
    return figures


def test_amplification_from_one_address_is_bounded() -> None:
    """100 connections x 30 toggles from 127.0.0.1 (the issue's 300 x 40 swamps a shared
    2-core box; either stays well within the bounds): only 64 get in (the per-address cap),
    the rest are refused (HTTP 429), and the server grows by at most 64 MiB."""
    figures = run_attack(100, 30)
    assert figures["snapshot_bytes"] > 50_000, figures  # worth amplifying
    assert figures["refused"] >= 100 - MAX_PER_ADDRESS, figures
    assert figures["growth"] <= GROWTH_LIMIT, figures


def test_amplification_without_the_address_cap_is_bounded() -> None:
    """The same attack with no per-address cap (as from many addresses): the output budget
    and the pause on readers that do not read keep the growth within 64 MiB."""
    figures = run_attack(100, 30, "--max-connections-per-ip", "0")
    assert figures["refused"] == 0, figures
    assert figures["growth"] <= GROWTH_LIMIT, figures


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    k = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    run_attack(n, k, *sys.argv[3:])
