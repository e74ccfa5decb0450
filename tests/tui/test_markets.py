"""The market picker narrows its list as you type; the expired 2018 futures are hidden from it
and from the balances unless shown (Ctrl+O in the picker, or ``show_expired`` in the settings);
the balances panel scrolls to every funded asset. The real app on the embedded exchange."""

from __future__ import annotations

from textual.widgets import Input

from cfdash.core.assets import MONTHS, PAIRS, SPOT_PAIRS, Assets, parse_pair
from cfdash.tui import config
from cfdash.tui.pairs import EXPIRED_ASSETS, EXPIRED_PAIRS, is_expired, listed, matching
from cfdash.tui.screens.markets import MarketPicker
from cfdash.tui.widgets.balances import BalancesView

from .conftest import SMALL, USER, WIDE, lines, q, running, until
from .test_keys import burst, settle

FUTURES = parse_pair("XBTJAN18:USDJAN18")


def test_the_expired_futures_are_the_2018_pairs_and_assets() -> None:
    assert len(EXPIRED_PAIRS) == 12 and FUTURES in EXPIRED_PAIRS
    assert not any(is_expired(p) for p in SPOT_PAIRS)
    assert Assets["XBTJAN18"] in EXPIRED_ASSETS and Assets["USDDEC18"] in EXPIRED_ASSETS
    assert not EXPIRED_ASSETS & {Assets[a] for a in ("XBT", "BCH", "GBP", "EUR", "USD", "PLN")}
    assert listed(PAIRS) == list(SPOT_PAIRS)
    assert listed(PAIRS, keep=FUTURES) == [*SPOT_PAIRS, FUTURES]
    assert listed(PAIRS, expired=True) == list(PAIRS)


def test_matching_keeps_the_pairs_with_every_word() -> None:
    names = [p.name for p in matching(PAIRS, "gbp")]
    assert names == ["XBT:GBP", "BCH:GBP"]
    assert [p.name for p in matching(PAIRS, " xbt/eu ")] == ["XBT:EUR"]
    assert [p.name for p in matching(PAIRS, "jan18")] == ["XBTJAN18:USDJAN18"]
    assert matching(PAIRS, "") == list(PAIRS)
    assert matching(PAIRS, "nope") == []


def test_show_expired_setting() -> None:
    assert config.parse("show_expired = true").show_expired is True
    assert config.parse("").show_expired is False


def shown_pairs(picker: MarketPicker) -> list[str]:
    return [p.name for p in picker.pairs]


async def test_typing_narrows_the_picker_and_enter_picks_the_highlighted(app) -> None:
    async with running(app, SMALL) as pilot:
        await pilot.press("m")
        picker = await until(pilot, lambda: isinstance(app.screen, MarketPicker) and app.screen)
        await pilot.pause()
        assert shown_pairs(picker) == [p.name for p in SPOT_PAIRS]  # no 2018 futures
        assert isinstance(app.focused, Input)
        await pilot.press(*"gbp")
        assert shown_pairs(picker) == ["XBT:GBP", "BCH:GBP"]
        await pilot.press("down", "enter")
        await until(pilot, lambda: app.pair.name == "BCH:GBP")
        assert len(app.screen_stack) == 1
        # Escape closes without switching; letters that are dashboard keys are typed
        await pilot.press("m")
        picker = await until(pilot, lambda: isinstance(app.screen, MarketPicker) and app.screen)
        await pilot.press(*"bsq", "escape")
        await until(pilot, lambda: len(app.screen_stack) == 1)
        assert app.pair.name == "BCH:GBP" and app.is_running


async def test_a_burst_typed_into_the_picker_applies_in_order(app) -> None:
    async with running(app, SMALL) as pilot:
        burst(app, "m", *"eur", "enter", "b")
        await until(pilot, lambda: app.pair.name == "XBT:EUR")
        await settle(pilot, app)
        assert len(app.screen_stack) == 1
        assert app.query_one("#entry").border_title.startswith("Buy XBT:EUR")


async def test_ctrl_o_shows_the_expired_futures_in_the_picker_and_the_balances(
    app, exchange
) -> None:
    funded = ("XBTJAN18", "USDJAN18")
    for name in funded:
        exchange.server.call(lambda s, a=Assets[name]: s.core.credit(USER, a, q("3")))
    async with running(app, WIDE) as pilot:
        view = app.query_one(BalancesView)
        await until(pilot, lambda: view.funded()[1] == 2)
        text = "\n".join(lines(view))
        assert "XBTJAN18" not in text and "+2 expired futures hidden" in text
        await pilot.press("m")
        picker = await until(pilot, lambda: isinstance(app.screen, MarketPicker) and app.screen)
        await pilot.press(*"jan", "ctrl+o")
        assert shown_pairs(picker) == ["XBTJAN18:USDJAN18"]
        assert app.dashboard.show_expired  # the app keeps the choice: the balances follow
        await until(pilot, lambda: "XBTJAN18" in "\n".join(lines(view)))
        await pilot.press("enter")
        await until(pilot, lambda: app.pair == FUTURES)
        await pilot.press("m")
        picker = await until(pilot, lambda: isinstance(app.screen, MarketPicker) and app.screen)
        assert len(picker.pairs) == len(PAIRS)
        await pilot.press("ctrl+o")  # hidden again, but for the market on screen
        assert shown_pairs(picker) == [*(p.name for p in SPOT_PAIRS), FUTURES.name]
        await pilot.press("escape")
        await until(pilot, lambda: "XBTJAN18" not in "\n".join(lines(view)))


async def test_the_setting_shows_the_expired_futures_from_the_start(exchange) -> None:
    app = exchange.dashboard().app
    app.show_expired = True  # as cfdash sets it from show_expired in config.toml
    async with running(app, SMALL) as pilot:
        await pilot.press("m")
        picker = await until(pilot, lambda: isinstance(app.screen, MarketPicker) and app.screen)
        await pilot.pause()
        assert len(picker.pairs) == len(PAIRS)


async def test_the_balances_scroll_to_every_funded_asset(app, exchange) -> None:
    names = ("BCH", "EUR", "USD", "PLN", *(f"XBT{m}18" for m in MONTHS))
    for name in names:
        exchange.server.call(lambda s, a=Assets[name]: s.core.credit(USER, a, 500))
    async with running(app, SMALL) as pilot:
        app.show_panel("balances")
        app.dashboard.show_expired = True
        view = app.query_one(BalancesView)
        await until(pilot, lambda: len(view.funded()[0]) == 2 + len(names))
        await pilot.pause()
        assert view.size.height - 1 < 2 + len(names)  # the 80x24 panel: not all at once
        seen: set[str] = set()
        view.focus()
        for _ in range(len(names)):
            seen |= {line.split()[0] for line in lines(view)[1:] if line.strip()}
            await pilot.press("down")
        assert {"XBT", "GBP", *names} <= seen
        assert view.border_title.endswith(f"of {2 + len(names)}")
        await pilot.press("home")
        assert lines(view)[1].split()[0] == "XBT"
        assert view.border_title.startswith("Balances 1-")
