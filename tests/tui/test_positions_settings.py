"""The positions panel's settings: ``currency`` and ``[start_cost]`` in config.toml, checked
when read and handed to the app by ``cfdash``'s ``build``."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from cfdash.core.assets import PAIRS, Assets
from cfdash.tui.config import Config, ConfigError, parse

from .conftest import write_config


def test_the_defaults_value_in_gbp_without_starting_costs() -> None:
    config = parse("")
    assert config.currency == Assets["GBP"] == Config().currency
    assert dict(config.start_cost) == {}


def test_currency_and_starting_costs_are_read() -> None:
    config = parse('currency = "eur"\n[start_cost]\n"XBT:GBP" = "30000.50"\n"BCH:GBP" = 250\n')
    assert config.currency == Assets["EUR"]
    assert dict(config.start_cost) == {PAIRS[0]: Decimal("30000.50"), PAIRS[4]: Decimal(250)}


def test_a_float_cost_is_taken_as_written() -> None:
    config = parse('[start_cost]\n"XBT:EUR" = 0.1\n')
    assert config.start_cost[PAIRS[1]] == Decimal("0.1")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('currency = "DOGE"', "currency: 'DOGE' is not an asset"),
        ("currency = 5", "currency: 5 is not an asset"),
        ('start_cost = "30000"', "start_cost: expected a table"),
        ('[start_cost]\n"XBT:JPY" = "1"', "start_cost.XBT:JPY: 'XBT:JPY' is not a listed market"),
        ('[start_cost]\n"XBT:GBP" = "-1"', "start_cost.XBT:GBP: '-1': expected a positive price"),
        ('[start_cost]\n"XBT:GBP" = "abc"', "start_cost.XBT:GBP: 'abc': expected a positive"),
        ('[start_cost]\n"XBT:GBP" = true', "start_cost.XBT:GBP: True: expected a positive"),
        (
            '[start_cost]\n"XBT:GBP" = "1"\n"XBT:EUR" = "1"',
            "start_cost.XBT:EUR: one starting cost per asset",
        ),
    ],
)
def test_bad_settings_are_refused_with_the_path(text: str, why: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(text, Path("/x/config.toml"))
    assert str(caught.value).startswith(f"/x/config.toml: {why}")


def test_build_hands_them_to_the_app(make_dashboard, home: dict[str, str]) -> None:
    write_config(home, 'currency = "USD"\n[start_cost]\n"XBT:GBP" = "30000"\n')
    app = make_dashboard("--no-traders").app
    assert app.currency == Assets["USD"]
    assert app.start_costs == {PAIRS[0]: Decimal(30000)}
