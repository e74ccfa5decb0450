"""Assets, asset pairs, scale tables and exact Decimal <-> wire-integer conversion.

Quantities, totals and prices travel as integers with an implied scale (SCALE.md). The API v2
endpoint scales XBT by 10^8 (v1 used 10^4); fiat and BCH amounts by 100 and 10^8; every listed
pair's price by 100. Conversion is exact: a value that a wire integer cannot represent is an
error naming the field, never a silent rounding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType

# The seed client's mapping, name -> code (codes are 16-bit: 0xF800 = XBT ...).
# MONTHS: the 2018 futures months, XBTJAN18 ... USDDEC18.
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_asset_codes: dict[str, int] = {
    "XBT": 63488,
    "BCH": 63496,
    "EUR": 64000,
    "GBP": 64032,
    "USD": 64128,
    "PLN": 64936,
}
for _i, _m in enumerate(MONTHS):
    _asset_codes[f"XBT{_m}18"] = 51200 + _i
    _asset_codes[f"USD{_m}18"] = 51840 + _i

Assets: Mapping[str, int] = MappingProxyType(_asset_codes)
"""Asset name -> wire code, equal to the seed library's ``Assets``."""

ASSET_NAMES: Mapping[int, str] = MappingProxyType({v: k for k, v in _asset_codes.items()})
"""Wire code -> asset name."""

# Largest integer the exchange accepts in any quantity, price or total (signed 64-bit).
WIRE_MAX = 2**63 - 1


class ConversionError(ValueError):
    """A value cannot be represented as a wire integer (or a name/code is unknown)."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Pair:
    """An asset pair (order book), identified by its base and counter asset codes."""

    base: int
    counter: int

    @property
    def name(self) -> str:
        return f"{asset_name(self.base)}:{asset_name(self.counter)}"

    def __str__(self) -> str:
        return self.name


PAIRS: tuple[Pair, ...] = (
    Pair(Assets["XBT"], Assets["GBP"]),
    Pair(Assets["XBT"], Assets["EUR"]),
    Pair(Assets["XBT"], Assets["USD"]),
    Pair(Assets["XBT"], Assets["PLN"]),
    Pair(Assets["BCH"], Assets["GBP"]),
    *(Pair(Assets[f"XBT{m}18"], Assets[f"USD{m}18"]) for m in MONTHS),
)
"""Every pair the spec lists, spot pairs first."""

SPOT_PAIRS: tuple[Pair, ...] = PAIRS[:5]
_PAIR_SET = frozenset(PAIRS)


def asset_code(asset: int | str) -> int:
    """Resolve an asset given by code (63488) or name ("XBT", case-insensitive)."""
    if isinstance(asset, bool):
        raise ConversionError("asset", f"not an asset: {asset!r}")
    if isinstance(asset, int):
        if asset in ASSET_NAMES:
            return asset
        raise ConversionError("asset", f"unknown asset code {asset}")
    if isinstance(asset, str):
        code = _asset_codes.get(asset.strip().upper())
        if code is not None:
            return code
        raise ConversionError("asset", f"unknown asset {asset!r}")
    raise ConversionError("asset", f"not an asset: {asset!r}")


def asset_name(code: int) -> str:
    """The name of an asset code; unknown codes render as their number."""
    return ASSET_NAMES.get(code, str(code))


def parse_pair(pair: Pair | str | tuple[int | str, int | str]) -> Pair:
    """Resolve a listed pair from a ``Pair``, "XBT:GBP" or (base, counter) by code or name."""
    if isinstance(pair, Pair):
        result = pair
    elif isinstance(pair, str):
        parts = pair.replace("/", ":").split(":")
        if len(parts) != 2:
            raise ConversionError("pair", f"expected BASE:COUNTER, got {pair!r}")
        result = Pair(asset_code(parts[0]), asset_code(parts[1]))
    elif isinstance(pair, tuple) and len(pair) == 2:
        result = Pair(asset_code(pair[0]), asset_code(pair[1]))
    else:
        raise ConversionError("pair", f"not a pair: {pair!r}")
    if result not in _PAIR_SET:
        raise ConversionError("pair", f"{result.name} is not a listed pair")
    return result


def _scale_digits(scale: int) -> int:
    digits = len(str(scale)) - 1
    if scale < 1 or 10**digits != scale:
        raise ValueError(f"scale must be a power of ten, got {scale}")
    return digits


def to_wire(value: Decimal | int | str, scale: int, field_name: str, *, signed: bool = True) -> int:
    """Convert a logical amount to its wire integer, exactly.

    Accepts ``Decimal``, ``int`` or a decimal string (``.`` for decimals; a comma is refused, as
    it reads as a decimal point in much of the world and as a thousands separator elsewhere);
    floats are refused (money is never float). Raises ``ConversionError`` naming ``field_name``
    for NaN/infinite values, more decimal places than the scale carries, values beyond the
    wire's 64-bit range, or negatives when ``signed`` is false. The arithmetic is on the
    integer digits, so no decimal context (precision, traps) can round or raise.
    """
    if isinstance(value, bool | float):
        raise ConversionError(field_name, f"must be a Decimal, int or string, not {value!r}")
    if isinstance(value, int):
        dec = Decimal(value)
    elif isinstance(value, Decimal):
        dec = value
    elif isinstance(value, str):
        text = value.strip()
        if "," in text or "_" in text:
            raise ConversionError(
                field_name, f"not a number: {value!r} (use '.' for decimals, no separators)"
            )
        try:
            dec = Decimal(text)
        except InvalidOperation:
            raise ConversionError(field_name, f"not a number: {value!r}") from None
    else:
        raise ConversionError(field_name, f"must be a Decimal, int or string, not {value!r}")
    if not dec.is_finite():
        raise ConversionError(field_name, f"not a finite number: {value}")
    negative, digits, exponent = dec.as_tuple()
    assert isinstance(exponent, int)
    if negative and not signed and any(digits):
        raise ConversionError(field_name, f"must not be negative: {value}")
    end = len(digits)
    while end > 1 and digits[end - 1] == 0:  # 1.500 is 15e-1: trailing zeros are not places
        end -= 1
    shift = exponent + (len(digits) - end) + _scale_digits(scale)
    if shift < 0 and any(digits):
        raise ConversionError(
            field_name, f"{value} has more than {_scale_digits(scale)} decimal places"
        )
    if not any(digits):
        return 0
    if end + shift > len(str(WIRE_MAX)):
        raise ConversionError(field_name, f"{value} is too large")
    wire: int = int("".join(map(str, digits[:end]))) * 10**shift
    if wire > WIRE_MAX:
        raise ConversionError(field_name, f"{value} is too large")
    return -wire if negative else wire


def from_wire(value: int, scale: int) -> Decimal:
    """The logical ``Decimal`` of a wire integer (exact)."""
    return Decimal(value).scaleb(-_scale_digits(scale))


@dataclass(frozen=True)
class Scales:
    """A scale table: per-asset amount scales and per-pair price scales."""

    name: str
    assets: Mapping[int, int]
    price: int = 100
    prices: Mapping[Pair, int] = field(default_factory=dict)

    def asset(self, code: int) -> int:
        try:
            return self.assets[code]
        except KeyError:
            raise ConversionError("asset", f"no scale for asset {asset_name(code)}") from None

    def price_scale(self, pair: Pair) -> int:
        return self.prices.get(pair, self.price)

    # Convenience converters, one per wire field.
    def quantity_to_wire(self, pair: Pair, value: Decimal | int | str) -> int:
        return to_wire(value, self.asset(pair.base), "quantity")

    def total_to_wire(self, pair: Pair, value: Decimal | int | str) -> int:
        return to_wire(value, self.asset(pair.counter), "total")

    def price_to_wire(self, pair: Pair, value: Decimal | int | str) -> int:
        return to_wire(value, self.price_scale(pair), "price", signed=False)

    def quantity_from_wire(self, pair: Pair, value: int) -> Decimal:
        return from_wire(value, self.asset(pair.base))

    def total_from_wire(self, pair: Pair, value: int) -> Decimal:
        return from_wire(value, self.asset(pair.counter))

    def price_from_wire(self, pair: Pair, value: int) -> Decimal:
        return from_wire(value, self.price_scale(pair))

    def bid_reservation(self, pair: Pair, quantity: int, price: int) -> int:
        """Counter-asset units a bid of ``quantity`` at ``price`` reserves (IMPL-GUIDE: ceil).

        ceil(quantity * price * S_counter / (S_base * S_price)); with v1 scales this is
        ceil(q * p / 10000).
        """
        num = abs(quantity) * price * self.asset(pair.counter)
        den = self.asset(pair.base) * self.price_scale(pair)
        return -(-num // den)


def _table(xbt: int) -> dict[int, int]:
    table = {code: 100 for code in (Assets[n] for n in ("EUR", "GBP", "USD", "PLN"))}
    table[Assets["XBT"]] = xbt
    table[Assets["BCH"]] = xbt
    for m in MONTHS:
        table[Assets[f"XBT{m}18"]] = xbt
        table[Assets[f"USD{m}18"]] = 100
    return table


V2 = Scales("v2", MappingProxyType(_table(10**8)))
"""API v2 scales (the default): XBT and BCH 10^8, fiat 100, prices 100."""

V1 = Scales("v1", MappingProxyType(_table(10**4)))
"""API v1 scales (SCALE.md as published): XBT 10^4, fiat 100, prices 100."""
