"""The benchmark suite: every headline figure, each with a baseline measured in the same run.

``python tests/bench/run.py [--quick] [--only engine,server,ingest,tui,memory]`` prints one line per
figure (value, unit, baseline, ratio; headline figures also their key and bar) and, as its last
line, ``bench: key=value ...`` with every headline figure measured. ``--quick`` (under two
minutes on two cores) runs fewer and smaller rounds; the full run reports medians of more.

Each headline key, and the baseline measured in the same run:

- ``ingest_vs_bare``: cfdash ``WSClient``'s full path (receive, parse, apply to the views), in
  msg/s, over a bare ``recv()`` + ``json.loads`` loop, on ~235-byte OrdersMatched/OrderOpened
  frames from a firehose process; rounds interleaved, the key is the median per-round ratio.
- ``ingest_vs_seed``: the same client over a seed-style ``WebSocketApp`` (default options,
  no-op handler), same rounds.
- ``engine_orders_per_s``: the ``ExchangeCore`` API on the seeded mix (60 % limits near the
  touch, 30 % cancels, 10 % crossing/market; every notice produced), orders/s wall clock.
  Baseline: a naive dict + list matcher in plain Python on the same ops
  (``bench_engine.run_reference``).
- ``server_orders_per_s``: ``cfdash serve`` (another process, SQLite WAL durability) with one
  raw client pipelining PlaceOrder/CancelOrder: order commands/s. Baseline: the same commands
  fed to an in-process ``ExchangeCore`` (``bench_server.core_rate``), the server's ceiling.
- ``tui_key_p99_ms``: the dashboard fed ~20,000 notices/s, p99 key press -> screen
  (``bench_tui``). Baseline: the same presses with no firehose.
- ``tui_converge_s``: after the firehose stops, time until the screen shows the server's book.
  Baseline: one order with no firehose.
- ``tui_big_key_p99_ms``, ``tui_big_updates_per_s``, ``tui_big_converge_s``: the same at
  200x60, where every panel is on screen, fed by the server the 120x36 keys came from;
  screen updates per second of firehose (baseline: the 120x36 run's).

The ``memory`` section (``bench_memory``) reports RSS figures, no headline key: the server
with 1,000,000 resting orders (200,000 quick), the client with a 2,000-level book, and both
through a 60 s firehose (12 s quick), each against its same-process baseline.

The TUI keys come from the real exchange when it delivered at least 90 % of the target rate to
the dashboard, else from the synthetic firehose server (the line says which).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import (
    Figure,
    figure_line,
    final_line,
    interleaved,
    machine,
    median,
    percentile,
)

KEYS = (
    "ingest_vs_bare",
    "ingest_vs_seed",
    "engine_orders_per_s",
    "server_orders_per_s",
    "tui_key_p99_ms",
    "tui_converge_s",
    "tui_big_key_p99_ms",
    "tui_big_updates_per_s",
    "tui_big_converge_s",
)
SECTIONS = ("engine", "server", "ingest", "tui", "memory")
TUI_RATE = 20_000


def _emit(figures: list[Figure], fig: Figure) -> None:
    figures.append(fig)
    print(figure_line(fig), flush=True)


# ------------------------------------------------------------------ engine


def engine(quick: bool, out: list[Figure]) -> None:
    from bench_engine import _mix, run_api, run_frames, run_reference

    n, rounds = (50_000, 3) if quick else (200_000, 5)
    ops = _mix(n)
    print(f"== engine: {n:,} commands of the seeded mix, {rounds} interleaved rounds", flush=True)
    ref, api, frames = interleaved(
        rounds,
        [lambda: run_reference(ops), lambda: run_api(ops), lambda: run_frames(ops)],
    )
    ref_wall = [r[0] for r in ref]
    baseline = median(ref_wall)
    _emit(
        out,
        Figure(
            "engine: naive dict+list matcher (reference)",
            baseline,
            "ops/s",
            runs=ref_wall,
            note=f"CPU-time rate {median(r[1] for r in ref):,.0f}/s",
        ),
    )
    for label, runs, key in (
        ("engine: ExchangeCore API, all notices", api, "engine_orders_per_s"),
        ("engine: JSON frames through receive()", frames, None),
    ):
        wall = [r[0] for r in runs]
        _emit(
            out,
            Figure(
                label,
                median(wall),
                "orders/s",
                baseline=baseline,
                baseline_unit="ops/s",
                baseline_what="naive matcher",
                ratio=median(w / b for w, b in zip(wall, ref_wall, strict=True)),
                key=key,
                bar=150_000 if key else None,
                runs=wall,
                note=f"CPU-time rate {median(r[1] for r in runs):,.0f}/s",
            ),
        )


# ------------------------------------------------------------------ server


def server(quick: bool, out: list[Figure]) -> None:
    from bench_server import core_rate, run_once

    n, rounds = (10_000, 3) if quick else (20_000, 5)
    print(
        f"== server: {n:,} PlaceOrder + {n:,} CancelOrder, window 256, {rounds} interleaved "
        "rounds (a fresh server process each)",
        flush=True,
    )
    results: list[dict[str, float]] = []

    def raw() -> float:
        result = run_once("raw", n)
        results.append(result)
        return result["orders_per_s"]

    core, served = interleaved(rounds, [lambda: core_rate(n)[0], raw])
    baseline = median(core)
    _emit(
        out,
        Figure("server: in-process ExchangeCore, same commands", baseline, "orders/s", runs=core),
    )
    errors = sum(int(r["errors"]) for r in results)
    _emit(
        out,
        Figure(
            "server: cfdash serve, raw pipelining client",
            median(served),
            "orders/s",
            baseline=baseline,
            baseline_what="in-process core",
            ratio=median(s / c for s, c in zip(served, core, strict=True)),
            key="server_orders_per_s",
            bar=20_000,
            runs=served,
            note=(
                f"CPU s per run: server {median(r['server_cpu'] for r in results):.2f}, "
                f"client {median(r['client_cpu'] for r in results):.2f}, wall "
                f"{median(r['elapsed'] for r in results):.2f}; {errors} error replies"
            ),
        ),
    )
    if not quick:
        ws = run_once("websockets", n)
        _emit(
            out,
            Figure(
                "server: same, websockets asyncio client",
                ws["orders_per_s"],
                "orders/s",
                baseline=median(served),
                baseline_what="raw client",
                note=f"client CPU {ws['client_cpu']:.2f} s: the client is the bottleneck",
            ),
        )


# ------------------------------------------------------------------ ingest


def ingest(quick: bool, out: list[Figure]) -> None:
    from bench_ingest import bench_bare, bench_seed_app, bench_wsclient, make_frames, serve_firehose

    n, rounds = (30_000, 3) if quick else (200_000, 3)
    size = sum(map(len, make_frames(2000))) / 2000
    print(
        f"== ingest: {n:,} frames of ~{size:.0f} bytes per client run from a firehose process, "
        f"{rounds} interleaved rounds",
        flush=True,
    )
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Queue()
    proc = ctx.Process(target=serve_firehose, args=(n, ready), daemon=True)
    proc.start()
    try:
        url = f"ws://127.0.0.1:{ready.get(timeout=120)}/"
        benches: list[Callable[[], float]] = [
            lambda: bench_bare(url, n),
            lambda: bench_seed_app(url, n),
            lambda: bench_wsclient(url, n),
        ]
        bare, seed, ours = interleaved(rounds, benches)
    finally:
        proc.terminate()
        proc.join(5)
    _emit(out, Figure("ingest: bare recv()+json.loads loop", median(bare), "msg/s", runs=bare))
    _emit(
        out,
        Figure(
            "ingest: seed-style WebSocketApp, no-op handler",
            median(seed),
            "msg/s",
            baseline=median(bare),
            baseline_what="bare loop",
            ratio=median(s / b for s, b in zip(seed, bare, strict=True)),
            runs=seed,
        ),
    )
    _emit(
        out,
        Figure(
            "ingest: cfdash WSClient full path (vs bare)",
            median(ours),
            "msg/s",
            baseline=median(bare),
            baseline_what="bare loop",
            ratio=median(o / b for o, b in zip(ours, bare, strict=True)),
            key="ingest_vs_bare",
            headline="ratio",
            bar=0.6,
            runs=ours,
        ),
    )
    _emit(
        out,
        Figure(
            "ingest: cfdash WSClient full path (vs seed)",
            median(ours),
            "msg/s",
            baseline=median(seed),
            baseline_what="seed WebSocketApp",
            ratio=median(o / s for o, s in zip(ours, seed, strict=True)),
            key="ingest_vs_seed",
            headline="ratio",
            bar=3.0,
            runs=ours,
        ),
    )


# ------------------------------------------------------------------ tui


def tui(quick: bool, out: list[Figure], kinds: tuple[str, ...]) -> None:
    from bench_tui import cpu_summary, measure

    rounds, duration, presses, idle = (1, 6.0, 50, 10) if quick else (3, 12.0, 70, 30)
    print(
        f"== tui: dashboard (run_test 120x36) fed {TUI_RATE:,} notices/s for {duration:.0f} s, "
        f"{rounds} round(s) of {presses} key presses per server kind, {idle} idle presses",
        flush=True,
    )
    measured = {}
    for kind in kinds:
        measured[kind] = measure(
            kind,
            rate=TUI_RATE,
            rounds=rounds,
            duration=duration,
            presses=presses,
            idle_presses=idle,
        )
    chosen = None
    for kind in kinds:  # the exchange first: the realistic one, if it reached the rate
        if median(measured[kind].received) >= 0.9 * TUI_RATE:
            chosen = kind
            break
    if chosen is None and kinds:
        chosen = "synthetic" if "synthetic" in measured else kinds[0]
    if chosen is not None:
        rates = ", ".join(f"{k} {median(r.received):,.0f}/s" for k, r in measured.items())
        print(
            f"   tui headline keys from the {chosen} server (delivered to the dashboard: {rates};"
            f" the exchange counts if >= 90 % of {TUI_RATE:,}/s)",
            flush=True,
        )
    for kind, r in measured.items():
        tag = f"tui[{kind}]"
        head = kind == chosen
        cpu = cpu_summary(r)
        _emit(
            out,
            Figure(
                f"{tag}: firehose rate achieved",
                median(r.offered),
                "cmd/s" if kind == "exchange" else "notices/s",
                baseline=TUI_RATE,
                baseline_unit="/s",
                baseline_what="target",
                runs=r.offered,
                note=f"{r.errors} error replies; CPU s/s {cpu}",
            ),
        )
        _emit(
            out,
            Figure(
                f"{tag}: frames/s the dashboard's client got",
                median(r.received),
                "frames/s",
                baseline=TUI_RATE,
                baseline_unit="/s",
                baseline_what="target",
                runs=r.received,
                note=f"{median(r.screen_updates):.0f} screen updates/s, {r.reconnects} reconnects",
            ),
        )
        idle50, idle99 = percentile(r.idle_keys, 0.5) * 1e3, percentile(r.idle_keys, 0.99) * 1e3
        _emit(
            out,
            Figure(
                f"{tag}: key->screen p50",
                percentile(r.keys, 0.5) * 1e3,
                "ms",
                baseline=idle50,
                baseline_what="idle",
            ),
        )
        notes = [f"{len(r.keys)} presses, {r.missed_keys} missed", *dict.fromkeys(r.notes)]
        _emit(
            out,
            Figure(
                f"{tag}: key->screen p99",
                percentile(r.keys, 0.99) * 1e3,
                "ms",
                baseline=idle99,
                baseline_what="idle",
                key="tui_key_p99_ms" if head else None,
                bar=100 if head else None,
                higher_is_better=False,
                note="; ".join(notes),
            ),
        )
        _emit(
            out,
            Figure(
                f"{tag}: firehose stop -> screen = server book",
                median(r.converge),
                "s",
                baseline=median(r.idle_converge),
                baseline_what="one order, idle",
                key="tui_converge_s" if head else None,
                bar=1.0 if head else None,
                higher_is_better=False,
                runs=r.converge,
            ),
        )
    if chosen is not None:
        tui_big(quick, out, chosen, median(measured[chosen].screen_updates))


def tui_big(quick: bool, out: list[Figure], kind: str, small: float | None) -> None:
    """The dashboard at 200x60 (every panel on screen) under the same firehose."""
    from bench_tui import measure

    rounds, duration, presses, idle = (1, 6.0, 50, 10) if quick else (3, 12.0, 70, 30)
    print(f"== tui: the same at 200x60, every panel on screen, {kind} server", flush=True)
    r = measure(
        kind, rate=TUI_RATE, rounds=rounds, duration=duration, presses=presses,
        idle_presses=idle, size=(200, 60),
    )  # fmt: skip
    tag = "tui 200x60"
    _emit(
        out,
        Figure(
            f"{tag}: key->screen p99",
            percentile(r.keys, 0.99) * 1e3,
            "ms",
            baseline=percentile(r.idle_keys, 0.99) * 1e3,
            baseline_what="idle",
            key="tui_big_key_p99_ms",
            bar=50,
            higher_is_better=False,
            note=f"{len(r.keys)} presses, {r.missed_keys} missed; "
            f"p50 {percentile(r.keys, 0.5) * 1e3:.0f} ms",
        ),
    )
    _emit(
        out,
        Figure(
            f"{tag}: screen updates/s under the firehose",
            median(r.screen_updates),
            "/s",
            baseline=small,
            baseline_what="120x36",
            key="tui_big_updates_per_s",
            bar=30,
            runs=r.screen_updates,
            note=f"client got {median(r.received):,.0f} frames/s",
        ),
    )
    _emit(
        out,
        Figure(
            f"{tag}: firehose stop -> screen = server book",
            median(r.converge),
            "s",
            baseline=median(r.idle_converge),
            baseline_what="one order, idle",
            key="tui_big_converge_s",
            bar=1.0,
            higher_is_better=False,
            runs=r.converge,
        ),
    )


# ------------------------------------------------------------------ driver


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller, fewer rounds (< 2 min)")
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"sections to run ({','.join(SECTIONS)})"
    )
    parser.add_argument(
        "--tui-server",
        choices=("exchange", "synthetic", "both"),
        default="both",
        help="which server feeds the dashboard",
    )
    args = parser.parse_args(argv)
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    kinds = ("exchange", "synthetic") if args.tui_server == "both" else (args.tui_server,)

    start = time.monotonic()
    print(f"machine: {machine()}", flush=True)
    print(f"mode: {'quick' if args.quick else 'full'}", flush=True)
    figures: list[Figure] = []
    for section in SECTIONS:
        if section not in sections:
            continue
        if section == "engine":
            engine(args.quick, figures)
        elif section == "server":
            server(args.quick, figures)
        elif section == "ingest":
            ingest(args.quick, figures)
        elif section == "tui":
            tui(args.quick, figures, kinds)
        else:
            import bench_memory

            bench_memory.figures(args.quick, lambda fig: _emit(figures, fig))
    print(f"== done in {time.monotonic() - start:.0f} s; {machine()}", flush=True)
    below = [f.key for f in figures if f.key is not None and f.passed is False]
    if below:
        print(f"below bar: {', '.join(k for k in below if k)}", flush=True)
    print(final_line(figures, KEYS), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
