"""The dashboard's settings file: ``$XDG_CONFIG_HOME/cfdash/config.toml`` (TOML).

Every key is optional; a missing file means the defaults. Example::

    market = "XBT:EUR"          # the market shown first
    theme = "light"             # dark | light
    endpoint = "wss://example.org/"   # used when no URL is given on the command line
    user_id = 1                 # pre-filled in the login dialog
    cookie = "HGREqcILTz8blHa/jsUTVTNBJlg="
    show_expired = true         # list the expired 2018 futures (market picker, balances)

    currency = "GBP"            # the positions panel values the account in it
    [keymap]                    # binding id -> key(s), e.g. "B" or "f2,B"
    buy = "B"
    [start_cost]                # market -> average cost of what you hold of its base at start
    "XBT:GBP" = "30000"         # (in the counter currency; without one, P&L counts the
                                # session's trades only)

The passphrase is never read from this file (use the login dialog or ``COINFLOOR_PASSPHRASE``).
A malformed file raises ``ConfigError`` with a message naming the file and the problem; so does
a keymap key that Textual would never deliver (``F2`` for ``f2``, ``ctrl+shift+nonsense``).

The market and the theme last chosen in the app (``m``, ``d``) are remembered in a small state
file of the app's own, ``$XDG_STATE_HOME/cfdash/state.toml`` (``~/.local/state`` when unset),
never in this file (which may hold comments), and never with a secret. At start the market and
the theme come from, first to last: ``--market``/``--theme`` (for that run only), the
remembered choice, this file. An edit of this file after the last remembered choice wins over
it: the most recent choice counts, whether made in the app or here.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from cfdash.core.assets import PAIRS, Assets, Pair, asset_code, parse_pair

Theme = Literal["dark", "light"]
THEMES: dict[str, str] = {"dark": "textual-dark", "light": "textual-light"}
"""Theme names in the file and on the command line -> Textual theme names."""
_KEYS = frozenset(
    {
        "market",
        "theme",
        "endpoint",
        "keymap",
        "user_id",
        "cookie",
        "currency",
        "start_cost",
        "show_expired",
    }
)
_SECRETS = frozenset({"passphrase", "password", "secret"})


class ConfigError(Exception):
    """The settings file cannot be used; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Config:
    market: Pair = PAIRS[0]
    theme: Theme = "dark"
    endpoint: str | None = None
    keymap: Mapping[str, str] = field(default_factory=dict)
    user_id: int | None = None
    cookie: str | None = None
    currency: int = Assets["GBP"]
    """The asset the positions panel values the account in."""
    start_cost: Mapping[Pair, Decimal] = field(default_factory=dict)
    """Market -> the average cost (in its counter) of what was held of its base at start."""
    show_expired: bool = False
    """List the expired 2018 futures (hidden by default; Ctrl+O in the market picker)."""
    path: Path | None = None
    """The file the settings came from (None: defaults only)."""


def market_option(value: object, error: Callable[[str], Exception] = ConfigError) -> Pair:
    """A listed pair from "XBT:GBP" (any case), or ``error(why)`` raised."""
    try:
        if isinstance(value, str):
            return parse_pair(value)
    except ValueError:
        pass
    names = ", ".join(p.name for p in PAIRS[:5])
    raise error(f"{value!r} is not a listed market (e.g. {names})")


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/cfdash/config.toml`` (``~/.config`` when the variable is unset)."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path.home() / ".config"
    return root / "cfdash" / "config.toml"


def state_path(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/cfdash/state.toml`` (``~/.local/state`` when the variable is unset)."""
    env = os.environ if env is None else env
    base = env.get("XDG_STATE_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path.home() / ".local" / "state"
    return root / "cfdash" / "state.toml"


@dataclass(frozen=True, slots=True)
class State:
    """What the app remembers between runs (``None``: nothing remembered)."""

    market: Pair | None = None
    theme: Theme | None = None


def load_state(path: Path, newer_than: Path | None = None) -> State:
    """The remembered choices; nothing when the file is missing, unreadable or malformed (it is
    the app's own file: a bad one is no reason to refuse to start), or older than
    ``newer_than`` (the settings file, edited since: its values count)."""
    try:
        stamp = path.stat().st_mtime_ns
        edited = newer_than is not None and newer_than.exists()
        if edited and newer_than.stat().st_mtime_ns > stamp:  # type: ignore[union-attr]
            return State()
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return State()
    market: Pair | None = None
    with contextlib.suppress(ConfigError):
        market = market_option(data.get("market"))
    theme = data.get("theme")
    return State(market, theme if theme in THEMES else None)


def save_state(path: Path, *, market: Pair | None = None, theme: str | None = None) -> None:
    """Remember ``market`` and/or ``theme`` (a name of ``THEMES``), keeping what else the
    file holds; atomically (a crash leaves the old file or the new one). ``OSError`` if the
    file cannot be written."""
    old = load_state(path)
    market = market or old.market
    if theme is not None and theme not in THEMES:
        raise ValueError(f"not a theme: {theme!r}")
    theme = theme or old.theme
    lines = ["# cfdash remembers the last market and theme here; config.toml is yours.\n"]
    if market is not None:
        lines.append(f'market = "{market.name}"\n')
    if theme is not None:
        lines.append(f'theme = "{theme}"\n')
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".state-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write("".join(lines))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def load(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read the settings; defaults when the file does not exist."""
    path = config_path(env) if path is None else path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    return parse(text, path)


def parse(text: str, path: Path | None = None) -> Config:
    where = str(path) if path is not None else "config"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None

    def bad(key: str, why: str) -> ConfigError:
        return ConfigError(f"{where}: {key}: {why}")

    secrets = _SECRETS & set(data)
    if secrets:
        raise bad(
            min(secrets),
            "secrets are not read from the config file; use the login dialog or "
            "the COINFLOOR_PASSPHRASE environment variable",
        )
    unknown = set(data) - _KEYS
    if unknown:
        raise bad(min(unknown), f"unknown setting (known: {', '.join(sorted(_KEYS))})")
    options: dict[str, Any] = {"path": path}
    if "market" in data:
        options["market"] = market_option(data["market"], lambda why: bad("market", why))
    if "theme" in data:
        if data["theme"] not in THEMES:
            raise bad("theme", f"{data['theme']!r}: expected one of {', '.join(THEMES)}")
        options["theme"] = data["theme"]
    if "endpoint" in data:
        endpoint = data["endpoint"]
        if not isinstance(endpoint, str) or not endpoint.startswith(("ws://", "wss://")):
            raise bad("endpoint", f"{endpoint!r}: expected a ws:// or wss:// URL")
        options["endpoint"] = endpoint
    if "user_id" in data:
        user_id = data["user_id"]
        if type(user_id) is not int or user_id <= 0:
            raise bad("user_id", f"{user_id!r}: expected a positive integer")
        options["user_id"] = user_id
    if "cookie" in data:
        if not isinstance(data["cookie"], str) or not data["cookie"].strip():
            raise bad("cookie", "expected a non-empty string")
        options["cookie"] = data["cookie"].strip()
    if "currency" in data:
        options["currency"] = _currency(data["currency"], lambda why: bad("currency", why))
    if "start_cost" in data:
        options["start_cost"] = _start_costs(data["start_cost"], bad)
    if "show_expired" in data:
        if not isinstance(data["show_expired"], bool):
            raise bad("show_expired", f"{data['show_expired']!r}: expected true or false")
        options["show_expired"] = data["show_expired"]
    if "keymap" in data:
        keymap = data["keymap"]
        if not isinstance(keymap, dict):
            raise bad("keymap", "expected a table of binding id = key")
        normalized: dict[str, str] = {}
        for binding, keys in keymap.items():
            if not isinstance(keys, str) or not keys.strip():
                raise bad(f"keymap.{binding}", f"{keys!r}: expected a key name such as 'B'")
            names = [key.strip() for key in keys.split(",")]
            for name in names:
                why = key_problem(name)
                if why is not None:
                    raise bad(f"keymap.{binding}", f"{keys!r}: {why}")
            normalized[binding] = ",".join(normalize_key(name) for name in names)
        options["keymap"] = normalized
    return Config(**options)


def _currency(value: object, error: Callable[[str], ConfigError]) -> int:
    try:
        if isinstance(value, str) and not value.strip().isdigit():
            return asset_code(value.strip())
    except ValueError:
        pass
    raise error(f"{value!r} is not an asset (e.g. GBP, EUR, XBT)")


def _start_costs(table: object, bad: Callable[[str, str], ConfigError]) -> dict[Pair, Decimal]:
    """``[start_cost]``: market = average cost (a number or a decimal string, positive); one
    market per base asset (what is held of it at start has one cost)."""
    if not isinstance(table, dict):
        raise bad("start_cost", 'expected a table of market = cost, e.g. "XBT:GBP" = "30000"')
    costs: dict[Pair, Decimal] = {}
    for name, raw in table.items():
        key = f"start_cost.{name}"

        def error(why: str, key: str = key) -> ConfigError:
            return bad(key, why)

        pair = market_option(name, error)
        try:
            cost = Decimal(str(raw)) if isinstance(raw, str | int | float) else None
        except InvalidOperation:
            cost = None
        if isinstance(raw, bool) or cost is None or not cost.is_finite() or cost <= 0:
            raise bad(key, f'{raw!r}: expected a positive price such as "30000"')
        if isinstance(raw, float):
            cost = Decimal(repr(raw))  # as written, not the float's binary expansion
        if any(p.base == pair.base for p in costs):
            raise bad(key, "one starting cost per asset (its holding has one cost)")
        costs[pair] = cost
    return costs


MODIFIERS = ("alt", "ctrl", "hyper", "meta", "shift", "super")
"""Textual's key modifiers, in the order it joins them ("ctrl+shift+up", "alt+shift+a")."""


def normalize_key(key: str) -> str:
    """A key as Textual names it: a single character by its name ("?" -> "question_mark"),
    as a ``Binding`` does; anything else as is."""
    from textual.keys import _character_to_key

    return _character_to_key(key) if len(key) == 1 else key


def key_problem(key: str) -> str | None:
    """Why Textual would never deliver ``key`` (so a binding on it could never fire), or
    ``None``. Keys are Textual's names: a printable character ("B", "?") or its name
    ("question_mark"), a key name ("f2", "pageup", "space"), with modifiers before it
    ("ctrl+shift+up"): lower-case, joined by "+", in Textual's (alphabetical) order."""
    if not key:
        return "an empty key name"
    if key == "+":
        return None  # the plus key, named "plus"
    *modifiers, base = key.split("+")
    if not base or not all(modifiers):
        return f"{key!r} is not a key: join modifiers and a key with '+' (e.g. 'ctrl+b')"
    for modifier in modifiers:
        if modifier not in MODIFIERS:
            hint = " (key names are lower-case)" if modifier.lower() in MODIFIERS else ""
            return f"{modifier!r} is not a modifier{hint}: use {', '.join(MODIFIERS)}"
    if len(set(modifiers)) != len(modifiers) or modifiers != sorted(modifiers):
        spelled = "+".join([*sorted(set(modifiers)), base])
        return f"{key!r} is never delivered: Textual spells it {spelled!r}"
    if len(base) == 1:
        name = normalize_key(base)
        # "ctrl+?": with modifiers Textual names the character ("ctrl+question_mark"),
        # except in a few legacy keys ("ctrl+@").
        if modifiers and name != base and key not in _legacy_keys():
            spelled = "+".join([*modifiers, name])
            return f"{key!r} is never delivered: Textual spells it {spelled!r}"
        return None
    if base in _key_names() or _names_a_character(base):
        return None
    if base.lower() in _key_names() or _names_a_character(base.lower()):
        return f"key names are lower-case: {'+'.join([*modifiers, base.lower()])!r}"
    return f"{base!r} is not a key name (e.g. 'f2', 'pageup', 'question_mark', 'B')"


@functools.cache
def _key_names() -> frozenset[str]:
    """The multi-character key names Textual delivers, but for those of characters (see
    ``_names_a_character``): its ``Keys`` and the keys of the kitty keyboard protocol."""
    from textual.keys import KEY_NAME_REPLACEMENTS, Keys

    names = {key.value.rpartition("+")[2] for key in Keys}
    names.update(KEY_NAME_REPLACEMENTS.values())
    try:
        from textual._keyboard_protocol import FUNCTIONAL_KEYS
    except ImportError:  # a private module: the rest still stands
        pass
    else:
        names.update(FUNCTIONAL_KEYS.values())
    return frozenset(n for n in names if len(n) > 1 and n.isidentifier() and n.islower())


@functools.cache
def _legacy_keys() -> frozenset[str]:
    from textual.keys import Keys

    return frozenset(key.value for key in Keys)


def _names_a_character(name: str) -> bool:
    """Whether Textual names a printable character ``name`` ("euro_sign" for "€")."""
    from textual.keys import _character_to_key, key_to_character

    character = key_to_character(name)
    return (
        character is not None
        and len(character) == 1
        and character.isprintable()
        and _character_to_key(character) == name
    )
