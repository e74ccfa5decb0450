"""What every benchmark of ``run.py`` shares: figures, medians, the table and the last line.

A ``Figure`` is one measured number with the baseline it was measured against in the same run
(machines are noisy: the ratio is what travels between machines). A headline figure carries the
key of the final ``bench: key=value ...`` line and the bar it is held to.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field


@dataclass
class Figure:
    """One line of the table.

    ``value``/``unit``: the measurement (a median when ``runs`` has several entries);
    ``baseline``/``baseline_unit``/``baseline_what``: what it is compared with, measured in the
    same run (None: no baseline); ``ratio``: value / baseline, or the median of per-round
    ratios when the rounds were interleaved. ``key``: the headline key; ``headline`` says
    which of ``value`` or ``ratio`` the key reports; ``bar`` with ``higher_is_better``: the
    target.
    """

    label: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_unit: str = ""
    baseline_what: str = ""
    ratio: float | None = None
    key: str | None = None
    headline: str = "value"
    bar: float | None = None
    higher_is_better: bool = True
    runs: list[float] = field(default_factory=list)
    note: str = ""

    def __post_init__(self) -> None:
        if self.ratio is None and self.baseline:
            self.ratio = self.value / self.baseline

    @property
    def reported(self) -> float:
        """The number the headline key reports."""
        value = self.ratio if self.headline == "ratio" else self.value
        return math.nan if value is None else value

    @property
    def passed(self) -> bool | None:
        if self.bar is None or self.key is None:
            return None
        value = self.reported
        if math.isnan(value):
            return False
        return value >= self.bar if self.higher_is_better else value <= self.bar


def median(values: Iterable[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return statistics.median(finite) if finite else math.nan


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-quantile (0..1) by the nearest-rank method (p99 of 50 samples = the max)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def interleaved(rounds: int, benches: Sequence[Callable[[], float]]) -> list[list[float]]:
    """Run each bench once per round, in turn (a, b, c, a, b, c, ...): a noisy neighbour then
    hits every bench alike. Returns one list of results per bench."""
    results: list[list[float]] = [[] for _ in benches]
    for _ in range(rounds):
        for i, bench in enumerate(benches):
            results[i].append(bench())
    return results


def fmt_number(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".rstrip()


def fmt_key(value: float) -> str:
    """A headline value for the last line: ratios with 2 decimals, big rates as integers."""
    if math.isnan(value):
        return "nan"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def figure_line(fig: Figure) -> str:
    base = ""
    if fig.baseline is not None:
        base = f"baseline {fmt_number(fig.baseline, fig.baseline_unit or fig.unit)}"
        if fig.baseline_what:
            base += f" ({fig.baseline_what})"
    ratio = "" if fig.ratio is None else f"ratio {fig.ratio:.2f}"
    line = f"{fig.label:<50} {fmt_number(fig.value, fig.unit):>16}  {base}"
    if ratio:
        line += f"  {ratio}"
    if fig.key is not None:
        sign = ">=" if fig.higher_is_better else "<="
        bar = "" if fig.bar is None else f" (bar {sign} {fmt_key(fig.bar)}"
        verdict = "" if fig.passed is None else (", ok)" if fig.passed else ", BELOW BAR)")
        line += f"  -> {fig.key}={fmt_key(fig.reported)}{bar}{verdict}"
    if len(fig.runs) > 1:
        line += f"  [runs: {', '.join(fmt_key(r) for r in fig.runs)}]"
    if fig.note:
        line += f"  ({fig.note})"
    return line


def final_line(figures: Iterable[Figure], order: Sequence[str]) -> str:
    """``bench: key=value ...`` for every headline key in ``order`` that was measured."""
    by_key = {f.key: f for f in figures if f.key is not None}
    parts = [f"{key}={fmt_key(by_key[key].reported)}" for key in order if key in by_key]
    return "bench: " + " ".join(parts)


def machine() -> str:
    """nproc, load average, CPU model and Python: printed with the results."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"nproc={os.cpu_count()} load={load[0]:.2f},{load[1]:.2f},{load[2]:.2f} "
        f"cpu={model!r} python={platform.python_version()}"
    )


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` (Linux /proc; nan elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return math.nan
