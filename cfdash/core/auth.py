"""Coinfloor authentication (AUTH.md): secp224k1 ECDSA over SHA-224.

- private key d = SHA-224(user_id as 8 bytes big-endian || UTF-8 passphrase), big-endian;
- message = user_id (8 bytes BE) || server nonce (16 bytes) || client nonce (16 bytes);
- signature (r, s) over SHA-224(message), each sent as exactly 28 bytes, base64.

Signing is deterministic (RFC 6979). Nothing here logs or keeps the passphrase; ``PrivateKey``
hides its number from ``repr`` so it cannot leak through a traceback or a debug log.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence
from typing import Any

from ecdsa import SigningKey, VerifyingKey, curves, ellipticcurve
from ecdsa.errors import MalformedPointError
from ecdsa.keys import BadSignatureError

NONCE_BYTES = 16
SIG_COMPONENT_BYTES = 28

# SEC 2 v2.0 secp224k1. The group order n is 225 bits, which is why a DER integer can be 29
# bytes with a leading zero; the wire format is always 28 bytes.
_P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFE56D
_GX = 0xA1455B334DF099DF30FC28A169A467E9E47075A90F7E650EB6B7A45C
_GY = 0x7E089FED7FBA344282CAFBD6F7E319F7C0B0BD59E2CA4BDB556D61A5
_N = 0x010000000000000000000000000001DCE8D2EC6184CAF0A971769FB1F7
_curve_fp = ellipticcurve.CurveFp(_P, 0, 5, 1)
SECP224K1 = curves.Curve(
    "SECP224k1",
    _curve_fp,
    ellipticcurve.PointJacobi(_curve_fp, _GX, _GY, 1, _N, generator=True),
    (1, 3, 132, 0, 32),
)


class PrivateKey:
    """A derived signing key. Its ``repr`` never shows the secret."""

    __slots__ = ("_sk",)

    def __init__(self, exponent: int) -> None:
        self._sk = SigningKey.from_secret_exponent(
            exponent, curve=SECP224K1, hashfunc=hashlib.sha224
        )

    @property
    def exponent(self) -> int:
        return int(self._sk.privkey.secret_multiplier)

    def public_key(self) -> bytes:
        """The 56-byte raw public point (x || y), as the embedded exchange stores it."""
        return bytes(self._sk.get_verifying_key().to_string("raw"))

    def sign_digest(self, digest: bytes) -> tuple[int, int]:
        signature: tuple[int, int] = self._sk.sign_digest_deterministic(
            digest, hashfunc=hashlib.sha224, sigencode=lambda r, s, order: (r, s)
        )
        return signature

    def __repr__(self) -> str:
        return "PrivateKey(<hidden>)"

    def __reduce__(self) -> Any:
        raise TypeError("PrivateKey cannot be pickled")


def user_id_bytes(user_id: int) -> bytes:
    if isinstance(user_id, bool) or not isinstance(user_id, int) or not 0 <= user_id < 2**64:
        raise ValueError("user_id must be an integer from 0 to 2**64-1")
    return user_id.to_bytes(8, "big")


def parse_user_id(user_id: object) -> int:
    """A user id as given to ``set_auth_data``: a positive int, or a string of ASCII digits
    (the seed called ``int()`` on it). Bools, floats, zero and negatives are refused."""
    if isinstance(user_id, str) and user_id.isascii() and user_id.isdigit():
        user_id = int(user_id)
    if isinstance(user_id, bool) or not isinstance(user_id, int) or not 0 < user_id < 2**64:
        raise ValueError("user_id must be a positive integer below 2**64")
    return user_id


def derive_private_key(user_id: int, passphrase: str | bytes) -> PrivateKey:
    """d = SHA-224(user_id (8 bytes BE) || UTF-8 passphrase), as a big-endian integer.

    A bad user id or a passphrase that is not text raises from a frame that no longer holds
    the passphrase, with no chained exception: tracebacks with locals cannot show it.
    """
    error: Exception | None = None
    secret = b""
    try:
        prefix = user_id_bytes(user_id)
    except ValueError as exc:
        error = ValueError(str(exc))
    if error is None:
        if isinstance(passphrase, str):
            try:
                secret = passphrase.encode("utf-8")
            except UnicodeEncodeError:  # it would carry the passphrase
                error = ValueError("passphrase is not valid Unicode text")
        elif isinstance(passphrase, bytes | bytearray):
            secret = bytes(passphrase)
        else:
            error = TypeError("passphrase must be str or bytes")
    del passphrase
    if error is not None:
        raise error  # outside the except blocks: nothing chained
    digest = hashlib.sha224(prefix + secret).digest()
    del secret
    return PrivateKey(int.from_bytes(digest, "big"))


def signed_digest(user_id: int, server_nonce: bytes, client_nonce: bytes) -> bytes:
    """SHA-224 of the 40-byte message: user_id || server nonce || client nonce."""
    if len(server_nonce) != NONCE_BYTES or len(client_nonce) != NONCE_BYTES:
        raise ValueError("nonces must be 16 bytes")
    return hashlib.sha224(user_id_bytes(user_id) + server_nonce + client_nonce).digest()


def encode_component(value: int) -> str:
    """A signature component as exactly 28 bytes, base64."""
    return base64.b64encode(value.to_bytes(SIG_COMPONENT_BYTES, "big")).decode("ascii")


def decode_component(text: str) -> int:
    """Decode a base64 big-endian signature component; ``ValueError`` if malformed.

    We send exactly 28 bytes, but accept what other Coinfloor clients send: Coinfloor's Java
    library strips leading zero bytes without padding (27 bytes or fewer about 1 time in 128),
    and a signed-integer encoding can add one leading 0x00 (29 bytes).
    """
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise ValueError("signature component is not base64") from None
    if (
        not raw
        or len(raw) > SIG_COMPONENT_BYTES + 1
        or (len(raw) > SIG_COMPONENT_BYTES and raw[0] != 0)
    ):
        raise ValueError("signature component must be 1 to 28 bytes")
    return int.from_bytes(raw, "big")


def sign(
    key: PrivateKey, user_id: int, server_nonce: bytes, client_nonce: bytes
) -> tuple[str, str]:
    """The ``signature`` field: base64 r and s of a deterministic signature."""
    r, s = key.sign_digest(signed_digest(user_id, server_nonce, client_nonce))
    return encode_component(r), encode_component(s)


def verify(
    public_key: bytes,
    user_id: int,
    server_nonce: bytes,
    client_nonce: bytes,
    signature: Sequence[str],
) -> bool:
    """Whether ``signature`` ([r, s] base64) is valid for this user and these nonces."""
    try:
        r, s = (decode_component(c) for c in signature)
        vk = VerifyingKey.from_string(public_key, curve=SECP224K1, hashfunc=hashlib.sha224)
        digest = signed_digest(user_id, server_nonce, client_nonce)
        return bool(vk.verify_digest((r, s), digest, sigdecode=lambda sig, order: sig))
    except (BadSignatureError, MalformedPointError, ValueError, TypeError):
        return False


def new_nonce() -> bytes:
    return os.urandom(NONCE_BYTES)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def decode_nonce(text: object) -> bytes:
    """A base64 16-byte nonce; ``ValueError`` if it is anything else."""
    if not isinstance(text, str):
        raise ValueError("nonce must be a base64 string")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("nonce is not base64") from None
    if len(raw) != NONCE_BYTES:
        raise ValueError("nonce must be 16 bytes")
    return raw


def authenticate_command(
    user_id: int,
    cookie: str,
    key: PrivateKey,
    server_nonce: bytes,
    client_nonce: bytes | None = None,
    tag: int | None = None,
) -> dict[str, Any]:
    """The complete ``Authenticate`` command for a server nonce (a fresh client nonce if none)."""
    cnonce = new_nonce() if client_nonce is None else client_nonce
    command: dict[str, Any] = {"method": "Authenticate"}
    if tag:
        command["tag"] = tag
    command.update(
        user_id=user_id,
        cookie=cookie,
        nonce=b64(cnonce),
        signature=list(sign(key, user_id, server_nonce, cnonce)),
    )
    return command
