"""``TableView``: a panel of text columns drawn line by line, built only when shown.

A subclass says which columns a width has (from the width alone, so that no column comes and
goes as the numbers change) and turns its data into rows of text. The rows are built when the
panel is drawn, cached until its data (``version``), size or mode changes, and never while the
panel is hidden (the compact layout shows one panel at a time): an update of a hidden panel
costs a counter's increment.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from textual.strip import Strip

from cfdash.tui.widgets.lines import LineWidget, cells


@dataclass(frozen=True, slots=True)
class Table:
    """Headings, alignments ("<" or ">" per column), rows of (style name, cells), a note
    shown when there are no rows, and lines shown after them (totals)."""

    heads: tuple[str, ...] = ()
    aligns: str = ""
    rows: Sequence[tuple[str, tuple[str, ...]]] = ()
    note: str | None = None
    footer: tuple[str, ...] = field(default=())


class TableView(LineWidget):
    """Rows of columns; ``table(width, rows)`` gives at most ``rows`` rows for a width."""

    COMPONENT_CLASSES: ClassVar = {
        "table--header",
        "table--buy",
        "table--sell",
        "table--plain",
        "table--gain",
        "table--loss",
        "table--footer",
    }
    DEFAULT_CSS = """
    TableView {
        height: 1fr;
        & > .table--header { text-style: bold; color: $text-muted; }
        & > .table--buy { color: $text-success; }
        & > .table--sell { color: $text-error; }
        & > .table--gain { color: $text-success; }
        & > .table--loss { color: $text-error; }
        & > .table--footer { text-style: bold; }
    }
    """
    GAP_MIN = 56
    """From this width on, two spaces between columns (one below)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.version = 0
        """Incremented by the subclass whenever its data changes."""

    # subclasses ---------------------------------------------------------------------------
    def table(self, width: int, rows: int) -> Table:
        """The table for ``width`` cells, with at most ``rows`` lines under the headings
        (rows and footer lines together)."""
        raise NotImplementedError

    def mode(self) -> Hashable:
        """Anything else the rows depend on (e.g. private mode)."""
        return None

    # machinery ----------------------------------------------------------------------------
    def changed(self) -> None:
        """The data changed: repaint if shown (the rows are built when drawn)."""
        self.version += 1
        if self.display:
            old = self._layout[1] if self._layout is not None else []
            self._repaint_changes(old)

    def layout_key(self, height: int) -> Hashable:
        return (height, self.size.width, self.version, self.display, self.mode())

    def layout_rows(self, height: int) -> list[Hashable]:
        if not self.display or height <= 0:
            return []
        width = self.size.width
        table = self.table(width, max(0, height - 1))
        if not table.heads:
            return [("note", table.note or "")] if table.note else []
        texts = [row for _, row in table.rows]
        widths = tuple(
            max([len(h), *(len(t[i]) for t in texts)]) for i, h in enumerate(table.heads)
        )
        gap = 2 if width >= self.GAP_MIN else 1
        rows: list[Hashable] = [("head", gap, widths, table.aligns, table.heads)]
        rows.extend(("row", style, gap, widths, table.aligns, t) for style, t in table.rows)
        if not table.rows and table.note:
            rows.append(("note", table.note))
        rows.extend(("footer", line) for line in table.footer)
        return rows

    def build_strip(self, row: Hashable, width: int) -> Strip:
        assert isinstance(row, tuple)
        kind = row[0]
        header = self.get_component_rich_style("table--header")
        if kind == "note":
            return cells([(f" {row[1]}", header)])
        if kind == "footer":
            return cells([(f" {row[1]}", self.get_component_rich_style("table--footer"))])
        if kind == "head":
            _, gap, widths, aligns, parts = row
            style = header
        else:
            _, name, gap, widths, aligns, parts = row
            style = self.get_component_rich_style(f"table--{name}")
        text = " " + (" " * gap).join(
            f"{p:{a}{w}}" for p, a, w in zip(parts, aligns, widths, strict=True)
        )
        if len(text.rstrip()) > width:  # never a cropped amount that reads as another one
            text = text[: max(0, width - 1)] + "…"
        return cells([(text, style)])
