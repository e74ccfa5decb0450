"""The settings file's keymap (keys Textual delivers, no conflicts) and the remembered market
and theme (``$XDG_STATE_HOME/cfdash/state.toml``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual import events
from textual._ansi_sequences import ANSI_SEQUENCES_KEYS
from textual._xterm_parser import XTermParser
from textual.keys import Keys

from cfdash.core.assets import PAIRS
from cfdash.tui import config
from cfdash.tui.config import ConfigError
from cfdash.tui.main import build
from cfdash.tui.screens.markets import MarketPicker

from .conftest import parse, until, write_config

# -- key names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("F2", "key names are lower-case: 'f2'"),
        ("ctrl+shift+nonsense", "'nonsense' is not a key name"),
        ("Ctrl+b", "'Ctrl' is not a modifier (key names are lower-case)"),
        ("shift+ctrl+up", "Textual spells it 'ctrl+shift+up'"),
        ("ctrl+?", "Textual spells it 'ctrl+question_mark'"),
        ("PageUp", "key names are lower-case: 'pageup'"),
        ("b,", "an empty key name"),
        ("ctrl+", "is not a key"),
    ],
)
def test_keys_textual_never_delivers_are_refused_with_the_path(
    home: dict[str, str], keys: str, message: str
) -> None:
    path = write_config(home, f'[keymap]\nhelp = "{keys}"\n')
    with pytest.raises(ConfigError) as error:
        config.load(env=home)
    assert str(error.value).startswith(f"{path}: keymap.help: ")
    assert message in str(error.value)


def _delivered_keys() -> set[str]:
    """Every key name Textual's input parser makes of a wide range of terminal input: legacy
    sequences, characters with and without Alt, kitty protocol keys with every modifier."""
    keys: set[str] = set()

    def feed(data: str) -> None:
        parser = XTermParser()
        for message in [*parser.feed(data), *parser.feed("")]:
            if isinstance(message, events.Key) and message.key != Keys.Ignore:
                keys.add(message.key)

    for sequence in ANSI_SEQUENCES_KEYS:
        feed(sequence)
    for code in [*range(1, 0x7F), 0xE9, 0x20AC]:
        feed(chr(code))
        feed("\x1b" + chr(code))
    for code in [*range(1, 0x7F), 0xE9, 57376, 57399, 57441]:
        for modifiers in range(1, 65):
            feed(f"\x1b[{code};{modifiers}u")
    for end in "ABCDHFPQRS":
        for modifiers in range(1, 65):
            feed(f"\x1b[1;{modifiers}{end}")
    return keys


def test_every_key_textual_delivers_is_accepted() -> None:
    delivered = _delivered_keys()
    assert {"f2", "ctrl+shift+up", "question_mark", "B", "alt+shift+a", "ctrl+@"} <= delivered
    refused = {key: config.key_problem(key) for key in delivered if config.key_problem(key)}
    assert refused == {}
    for key in ("?", "+", "euro_sign", "full_stop", "space", "f35", "ctrl+f12", "super+c"):
        assert config.key_problem(key) is None, key


def test_keys_are_kept_as_textual_names_them(home: dict[str, str]) -> None:
    write_config(home, '[keymap]\nhelp = " ? , f1 "\nbuy = "+"\n')
    assert config.load(env=home).keymap == {"help": "question_mark,f1", "buy": "plus"}


# -- conflicts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keymap", "message"),
    [
        ('buy = "c"', "keymap.buy: 'c': 'c' is already the key of cancel"),
        ('sell = "b"', "keymap.sell: 'b': 'b' is already the key of buy"),
        ('help = "q"', "keymap.help: 'q': 'q' is already the key of quit"),
        ('market = "ctrl+p"', "'ctrl+p' is already the key of 'command_palette'"),
        ('"orders.down" = "c"', "keymap.orders.down: 'c': 'c' is already the key of cancel"),
        ('"entry.kind" = "m"', "keymap.entry.kind: 'm': 'm' is already the key of market"),
        ('"entry.kind" = "5"', "the order form's number fields need '5'"),
        ('sell = "full_stop"', "the order form's number fields need 'full_stop'"),
        ('"entry.leave" = "enter"', "the order form's number fields need 'enter'"),
    ],
)
def test_conflicting_keys_are_refused_with_the_path(
    home: dict[str, str], keymap: str, message: str
) -> None:
    path = write_config(home, f"[keymap]\n{keymap}\n")
    with pytest.raises(ConfigError) as error:
        build(parse("--no-traders"), env=home)
    assert str(error.value).startswith(f"{path}: keymap.")
    assert message in str(error.value)


async def test_a_swap_is_not_a_conflict(make_dashboard, home) -> None:
    # buy takes cancel's key once cancel has another; quit takes Textual's own quit key.
    write_config(home, '[keymap]\nbuy = "c"\ncancel = "x"\nquit = "ctrl+q"\n')
    app = make_dashboard("--no-traders").app
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("c")
        await until(pilot, lambda: app.query_one("#entry").has_focus_within)


def test_unknown_binding_ids_name_the_file(home: dict[str, str]) -> None:
    path = write_config(home, '[keymap]\nbuyy = "B"\n')
    with pytest.raises(ConfigError, match="unknown binding id 'buyy'") as error:
        build(parse("--no-traders"), env=home)
    assert str(error.value).startswith(f"{path}: keymap: ")


# -- the remembered market and theme -----------------------------------------------------------


@pytest.mark.slow
async def test_the_market_and_theme_chosen_are_remembered_for_the_next_run(
    make_dashboard, home
) -> None:
    comments = '# my settings\nmarket = "XBT:GBP"  # the usual one\n'
    config_file = write_config(home, comments)
    os.utime(config_file, (1_600_000_000, 1_600_000_000))  # edited long ago
    state = config.state_path(home)
    app = make_dashboard("--no-traders").app
    assert app.pair == PAIRS[0] and app.theme == "textual-dark"
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, MarketPicker))
        await pilot.press("down", "enter")
        await until(pilot, lambda: app.pair == PAIRS[1])
        assert 'market = "XBT:EUR"' in state.read_text()  # written at once, not at exit
        await pilot.press("d")
        await until(pilot, lambda: 'theme = "light"' in state.read_text())
    assert config_file.read_text() == comments  # the user's file is never rewritten
    assert [p.name for p in state.parent.iterdir()] == ["state.toml"]  # no temporary left
    app = make_dashboard("--no-traders").app
    assert (app.pair, app.theme) == (PAIRS[1], "textual-light")
    # The command line beats what was remembered, for this run, and is not remembered itself.
    app = make_dashboard("--no-traders", "--market", "XBT:USD", "--theme", "dark").app
    assert (app.pair, app.theme) == (PAIRS[2], "textual-dark")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
    assert config.load_state(state) == config.State(PAIRS[1], "light")


def test_an_edit_of_the_settings_after_the_last_choice_wins(home: dict[str, str]) -> None:
    state = config.state_path(home)
    config.save_state(state, market=PAIRS[1], theme="light")
    os.utime(state, (1_600_000_000, 1_600_000_000))
    config_file = write_config(home, 'market = "XBT:USD"\n')
    app = build(parse("--no-traders"), env=home)
    try:
        assert (app.app.pair, app.app.theme) == (PAIRS[2], "textual-dark")
    finally:
        app.close()
    os.utime(config_file, (1_500_000_000, 1_500_000_000))  # the choice is newer again
    app = build(parse("--no-traders"), env=home)
    try:
        assert (app.app.pair, app.app.theme) == (PAIRS[1], "textual-light")
    finally:
        app.close()


@pytest.mark.parametrize(
    "text", ["market = ", 'market = "XBT:JPY"\ntheme = "blue"\n', "\xff\xfe", 'passphrase = "x"']
)
def test_a_bad_state_file_is_ignored(home: dict[str, str], text: str) -> None:
    state = config.state_path(home)
    state.parent.mkdir(parents=True)
    state.write_text(text, encoding="latin-1")
    assert config.load_state(state) == config.State()
    dashboard = build(parse("--no-traders"), env=home)
    try:
        assert dashboard.app.pair == PAIRS[0]
    finally:
        dashboard.close()


def test_the_state_file_follows_xdg(tmp_path: Path) -> None:
    assert config.state_path({"XDG_STATE_HOME": str(tmp_path)}) == (
        tmp_path / "cfdash" / "state.toml"
    )
    default = Path.home() / ".local" / "state" / "cfdash" / "state.toml"
    assert config.state_path({"XDG_STATE_HOME": "relative"}) == default
    assert config.state_path({}) == default
