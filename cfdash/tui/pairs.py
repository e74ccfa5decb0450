"""Which markets and assets the dashboard lists: the expired 2018 futures are hidden unless
asked for, and the market picker narrows its list as the user types. Pure: no Textual."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from cfdash.core.assets import PAIRS, SPOT_PAIRS, Pair

EXPIRED_PAIRS: Final = frozenset(PAIRS) - frozenset(SPOT_PAIRS)
"""The 2018 futures pairs (XBTJAN18:USDJAN18 ...): long expired, listed by the spec only."""
EXPIRED_ASSETS: Final = frozenset(a for p in EXPIRED_PAIRS for a in (p.base, p.counter)) - {
    a for p in SPOT_PAIRS for a in (p.base, p.counter)
}
"""Their assets (XBTJAN18 ... USDDEC18), none of a spot pair's."""


def is_expired(pair: Pair) -> bool:
    return pair in EXPIRED_PAIRS


def listed(
    pairs: Iterable[Pair] = PAIRS, *, expired: bool = False, keep: Pair | None = None
) -> list[Pair]:
    """``pairs`` in order, without the expired futures unless ``expired`` (``keep`` stays,
    e.g. the market on screen)."""
    return [p for p in pairs if expired or p == keep or not is_expired(p)]


def matching(pairs: Sequence[Pair], query: str) -> list[Pair]:
    """The pairs whose name contains every word of ``query`` (any case; ":" "/" or spaces
    between words), in order: "gbp" -> XBT:GBP, BCH:GBP; "xbt/eu" -> XBT:EUR."""
    words = query.upper().replace("/", " ").replace(":", " ").split()
    return [p for p in pairs if all(w in p.name for w in words)]
