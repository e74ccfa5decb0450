"""The dashboard's settings file: ``$XDG_CONFIG_HOME/cfdash/config.toml`` (TOML).

Every key is optional; a missing file means the defaults. Example::

    market = "XBT:EUR"          # the market shown first
    theme = "light"             # dark | light
    endpoint = "wss://example.org/"   # used when no URL is given on the command line
    user_id = 1                 # pre-filled in the login dialog
    cookie = "HGREqcILTz8blHa/jsUTVTNBJlg="

    [keymap]                    # binding id -> key(s), e.g. "B" or "f2,B"
    buy = "B"

The passphrase is never read from this file (use the login dialog or ``COINFLOOR_PASSPHRASE``).
A malformed file raises ``ConfigError`` with a message naming the file and the problem.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cfdash.core.assets import PAIRS, Pair, parse_pair

Theme = Literal["dark", "light"]
THEMES: dict[str, str] = {"dark": "textual-dark", "light": "textual-light"}
"""Theme names in the file and on the command line -> Textual theme names."""
_KEYS = frozenset({"market", "theme", "endpoint", "keymap", "user_id", "cookie"})
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
    if "keymap" in data:
        keymap = data["keymap"]
        if not isinstance(keymap, dict):
            raise bad("keymap", "expected a table of binding id = key")
        for binding, keys in keymap.items():
            if not isinstance(keys, str) or not keys.strip():
                raise bad(f"keymap.{binding}", f"{keys!r}: expected a key name such as 'B'")
        options["keymap"] = {k: v.strip() for k, v in keymap.items()}
    return Config(**options)
