"""``cfdash [URL]``: options, the settings file, logging without secrets, SIGHUP."""

from __future__ import annotations

import os
import signal
import time
from decimal import Decimal
from pathlib import Path

import pytest

from cfdash.cli import build_parser
from cfdash.core.assets import PAIRS
from cfdash.server.users import DEMO_COOKIE, DEMO_PASSPHRASE
from cfdash.tui import config
from cfdash.tui.config import Config, ConfigError
from cfdash.tui.main import INSECURE_WARNING, build, run
from cfdash.tui.screens.help import HelpScreen

from .conftest import parse, write_config

# -- the settings file ----------------------------------------------------------------------


def test_config_path_follows_xdg(tmp_path: Path) -> None:
    assert config.config_path({"XDG_CONFIG_HOME": str(tmp_path)}) == (
        tmp_path / "cfdash" / "config.toml"
    )
    relative = config.config_path({"XDG_CONFIG_HOME": "relative/dir"})
    assert relative == Path.home() / ".config" / "cfdash" / "config.toml"


def test_missing_file_means_defaults(home: dict[str, str]) -> None:
    assert config.load(env=home) == Config()
    assert Config().market == PAIRS[0] and Config().theme == "dark"


def test_full_config(home: dict[str, str]) -> None:
    path = write_config(
        home,
        'market = "xbt:eur"\ntheme = "light"\nendpoint = "wss://example.org/"\n'
        f'user_id = 7\ncookie = "{DEMO_COOKIE}"\n[keymap]\nbuy = "B"\nhelp = "f1"\n',
    )
    conf = config.load(env=home)
    assert conf == Config(
        market=PAIRS[1],
        theme="light",
        endpoint="wss://example.org/",
        keymap={"buy": "B", "help": "f1"},
        user_id=7,
        cookie=DEMO_COOKIE,
        path=path,
    )


BAD = [
    ("market = ", "not valid TOML"),
    ('passphrase = "opensesame"', "passphrase: secrets are not read"),
    ('colour = "red"', "colour: unknown setting"),
    ('market = "XBT:JPY"', "market: 'XBT:JPY' is not a listed market"),
    ('theme = "blue"', "theme: 'blue': expected one of dark, light"),
    ('endpoint = "http://x"', "endpoint: 'http://x': expected a ws:// or wss:// URL"),
    ("user_id = -3", "user_id: -3: expected a positive integer"),
    ('cookie = ""', "cookie: expected a non-empty string"),
    ("keymap = 3", "keymap: expected a table"),
    ("[keymap]\nbuy = 1", "keymap.buy: 1: expected a key name"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_config_is_a_clear_error(home: dict[str, str], text: str, message: str) -> None:
    path = write_config(home, text + "\n")
    with pytest.raises(ConfigError) as error:
        config.load(env=home)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)
    assert "opensesame" not in str(error.value)


def test_run_reports_a_bad_config_and_exits_2(home, capsys, monkeypatch) -> None:
    write_config(home, 'theme = "blue"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", home["XDG_CONFIG_HOME"])
    assert run(parse("--no-traders")) == 2
    err = capsys.readouterr().err
    assert err.startswith("cfdash: ") and "theme: 'blue'" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--market", "XBT:JPY"), "'XBT:JPY' is not a listed market"),
        (("http://example.org",), "expected a ws:// or wss:// URL"),
    ],
)
def test_run_reports_bad_options(home, capsys, monkeypatch, argv, message) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", home["XDG_CONFIG_HOME"])
    assert run(parse(*argv)) == 2
    assert message in capsys.readouterr().err


def test_unknown_keymap_binding_is_refused(home: dict[str, str]) -> None:
    write_config(home, '[keymap]\nbuyy = "B"\n')
    with pytest.raises(ConfigError, match="unknown binding id 'buyy'"):
        build(parse("--no-traders"), env=home)


def test_the_cli_routes_the_bare_command_here() -> None:
    args = build_parser().parse_args(["wss://example.org/", "--market", "XBT:EUR", "-k"])
    assert args._module == "cfdash.tui.main"
    assert (args.url, args.market, args.insecure, args.read_only) == (
        "wss://example.org/",
        "XBT:EUR",
        True,
        False,
    )


# -- building and running ---------------------------------------------------------------------


async def test_settings_and_options_reach_the_app(make_dashboard, home) -> None:
    write_config(home, 'market = "XBT:USD"\ntheme = "dark"\n[keymap]\nhelp = "f1"\n')
    dashboard = make_dashboard("--no-traders", "--theme", "light")
    app = dashboard.app
    assert app.pair == PAIRS[2]  # from the file
    assert dashboard.server is not None and dashboard.source.fee_rate == Decimal("0.0025")
    async with app.run_test(size=(100, 30)) as pilot:
        assert not app.current_theme.dark  # the option beats the file
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


async def test_insecure_is_warned_about_on_screen(make_dashboard) -> None:
    from cfdash.server.app import ServerThread

    with ServerThread(traders=False) as server:
        dashboard = make_dashboard(server.url, "-k", "--read-only")
        assert dashboard.notes == [INSECURE_WARNING]
        assert dashboard.source.client.insecure_ssl
        app = dashboard.app
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            deadline = time.monotonic() + 3
            toasts: list[str] = []
            while not any("TLS verification is OFF" in t for t in toasts):
                assert time.monotonic() < deadline, toasts
                await pilot.pause(0.02)
                toasts = [str(t.render()) for t in app.screen.query("Toast")]
            dashboard.close()


async def test_sighup_exits_the_app(make_dashboard) -> None:
    app = make_dashboard("--no-traders").app
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.is_running
        # The app's handler is installed (otherwise SIGHUP would end the test run itself).
        assert signal.getsignal(signal.SIGHUP) not in (signal.SIG_DFL, signal.SIG_IGN, None)
        os.kill(os.getpid(), signal.SIGHUP)
        deadline = time.monotonic() + 3
        while app.is_running and time.monotonic() < deadline:
            await pilot.pause(0.02)
        assert not app.is_running


async def test_the_log_file_never_holds_secrets(make_dashboard, tmp_path: Path) -> None:
    log_file = tmp_path / "cfdash.log"
    dashboard = make_dashboard("--no-traders", "--log", str(log_file), "--debug")
    app = dashboard.app
    async with app.run_test(size=(100, 30)) as pilot:
        deadline = time.monotonic() + 4
        while app.status.user_id is None and time.monotonic() < deadline:
            await pilot.pause(0.02)
        assert app.status.user_id == 1
        # A wrong login attempt too: its passphrase must not be logged either.
        failed = dashboard.source.login(1, DEMO_COOKIE, "a-wrong-passphrase-xyz")
        await pilot.pause(0.2)
        assert failed.done()
    dashboard.close()
    text = log_file.read_text()
    assert "logged in as user 1" in text and "send GetBalances" in text  # DEBUG is on
    for secret in (DEMO_PASSPHRASE, "a-wrong-passphrase-xyz", DEMO_COOKIE, "signature"):
        assert secret not in text
