"""Snapshots of the main screen with deterministic data (fixed clock, seeded source).

Regenerate after an intended visual change with ``pytest tests/tui --snapshot-update`` and
review the SVGs in ``tests/tui/__snapshots__``.
"""

from __future__ import annotations

from cfdash.tui.app import DashboardApp

from .conftest import PAIR, clock, seeded_source


def test_main_screen_wide(snap_compare) -> None:
    app = DashboardApp(seeded_source(), pair=PAIR, clock=clock)
    assert snap_compare(app, terminal_size=(120, 36))


def test_main_screen_compact_with_buy_form(snap_compare) -> None:
    app = DashboardApp(seeded_source(), pair=PAIR, clock=clock)
    assert snap_compare(app, press=["b", *"0.25", "tab", *"40000"], terminal_size=(80, 24))
