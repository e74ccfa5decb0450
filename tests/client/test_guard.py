"""client.guard: its field tables are derived from the notice classes (one schema) and check
what the views need, no more and no less."""

from __future__ import annotations

from typing import Any

import pytest

from cfdash.client.guard import VIEW_NOTICES, notice_problem
from cfdash.core.messages import NOTICE_FIELDS, NOTICES

# What the views read with a default: required by the protocol, optional for the guard.
READ_WITH_DEFAULT = {"time"}


def full(name: str) -> dict[str, Any]:
    """A notice of ``name`` with every integer field its class defines."""
    return {"notice": name, **{f.name: 1 for f in NOTICE_FIELDS[name]}}


def test_view_notices_are_every_notice_but_welcome():
    assert NOTICES - {"Welcome"} == VIEW_NOTICES


def test_derived_required_fields_are_the_former_hand_written_table():
    required = {
        name: {f.name for f in NOTICE_FIELDS[name] if f.required} - READ_WITH_DEFAULT
        for name in VIEW_NOTICES
    }
    assert required == {
        "BalanceChanged": {"asset", "balance"},
        "OrderOpened": {"id", "base", "counter", "quantity", "price"},
        "OrdersMatched": {"base", "counter", "quantity", "price", "total"},
        "OrderClosed": {"id", "base", "counter", "quantity", "price"},
        "TickerChanged": {"base", "counter"},
        "TradeVolumeChanged": {"asset", "volume"},
    }


@pytest.mark.parametrize("name", sorted(VIEW_NOTICES))
def test_every_notice_guard_table_matches_its_definition(name):
    assert notice_problem(full(name)) is None
    assert notice_problem({**full(name), "unknown_field": "x"}) is None  # not a schema field
    for field in NOTICE_FIELDS[name]:
        required = field.required and field.name not in READ_WITH_DEFAULT
        missing = {k: v for k, v in full(name).items() if k != field.name}
        without = f"{name} notice without an integer {field.name!r}"
        non_integer = f"{name} notice with a non-integer {field.name!r}"
        if required:
            assert notice_problem(missing) == without
            assert notice_problem({**full(name), field.name: None}) == without
            assert notice_problem({**full(name), field.name: "1"}) == without
            assert notice_problem({**full(name), field.name: True}) == without
        else:
            assert notice_problem(missing) is None
            assert notice_problem({**full(name), field.name: None}) is None
            assert notice_problem({**full(name), field.name: "1"}) == non_integer
            assert notice_problem({**full(name), field.name: 1.0}) == non_integer


@pytest.mark.parametrize(
    ("name", "field", "value"),
    [
        ("OrderOpened", "id", -7),
        ("OrderOpened", "id", 2**70),
        ("OrderOpened", "price", 0),
        ("OrderClosed", "id", 0),
        ("OrdersMatched", "bid", -1),
        ("OrdersMatched", "quantity", 0),
        ("OrdersMatched", "total", -5),
        ("OrdersMatched", "ask_tonce", 2**64),
        ("BalanceChanged", "balance", -1),
        ("TickerChanged", "last", 0),
        ("TradeVolumeChanged", "volume", 2**63),
    ],
)
def test_a_field_out_of_its_range_is_a_problem(name: str, field: str, value: int) -> None:
    problem = notice_problem({**full(name), field: value})
    assert problem is not None and f"{field!r} out of range" in problem
    assert len(problem) < 160  # a huge number is described, not printed


@pytest.mark.parametrize(
    ("name", "field", "value"),
    [
        ("OrderOpened", "quantity", -3),  # an ask
        ("OrderClosed", "quantity", 0),  # filled
        ("OrderClosed", "tonce", -(2**63)),
        ("OrdersMatched", "bid_rem", 0),
        ("BalanceChanged", "balance", 0),
        ("OrderOpened", "id", 2**63 - 1),
    ],
)
def test_values_at_the_edges_of_their_range_apply(name: str, field: str, value: int) -> None:
    assert notice_problem({**full(name), field: value}) is None
