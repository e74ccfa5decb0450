"""Authentication against the published facts of AUTH.md and coinfloor/ruby-libecp."""

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cfdash.core.auth import (
    authenticate_command,
    decode_component,
    derive_private_key,
    encode_component,
    sign,
    verify,
)

SERVER_NONCE = base64.b64decode("azRzAi5rm1ry/l0drnz1vw==")
CLIENT_NONCE = base64.b64decode("8IyYyvH9gujOqYJdv/BP0A==")
PUBLISHED_SIG = [
    "P7d6nXtbKmggnnb2hyB4xXkTQNWYmFSto6tzXg==",
    "NLhDQS8YqRDxin1M4dNZeGDmNFsiv3iUz2d4Cg==",
]


def test_key_derivation_matches_auth_md():
    key = derive_private_key(1, "opensesame")
    assert key.exponent == 0xB89EA7FCD22CC059C2673DC24FF40B978307464686560D0AD7561B83


def test_key_derivation_matches_ruby_libecp():
    key = derive_private_key(1, "password")
    assert key.exponent == 0xD669B522C665610AB699A1689756A8375222C4882F1586D186B083B0


def test_published_signature_verifies():
    pub = derive_private_key(1, "opensesame").public_key()
    assert verify(pub, 1, SERVER_NONCE, CLIENT_NONCE, PUBLISHED_SIG)


def test_published_signature_fails_for_wrong_user_nonce_or_key():
    pub = derive_private_key(1, "opensesame").public_key()
    assert not verify(pub, 2, SERVER_NONCE, CLIENT_NONCE, PUBLISHED_SIG)
    assert not verify(pub, 1, CLIENT_NONCE, SERVER_NONCE, PUBLISHED_SIG)
    other = derive_private_key(1, "opensesame!").public_key()
    assert not verify(other, 1, SERVER_NONCE, CLIENT_NONCE, PUBLISHED_SIG)


@pytest.mark.parametrize(
    "bad",
    [["AAAA", "BBBB"], ["not base64!", PUBLISHED_SIG[1]], [PUBLISHED_SIG[0]], [1, 2], "xx"],
)
def test_malformed_signatures_do_not_verify(bad):
    pub = derive_private_key(1, "opensesame").public_key()
    assert not verify(pub, 1, SERVER_NONCE, CLIENT_NONCE, bad)


def test_own_signature_is_deterministic_and_verifies():
    key = derive_private_key(1, "opensesame")
    sig = sign(key, 1, SERVER_NONCE, CLIENT_NONCE)
    assert sig == sign(key, 1, SERVER_NONCE, CLIENT_NONCE)
    assert all(len(base64.b64decode(c)) == 28 for c in sig)
    assert verify(key.public_key(), 1, SERVER_NONCE, CLIENT_NONCE, sig)


def test_authenticate_command_matches_auth_md_shape():
    key = derive_private_key(1, "opensesame")
    cmd = authenticate_command(1, "HGREqcILTz8blHa/jsUTVTNBJlg=", key, SERVER_NONCE, CLIENT_NONCE)
    assert cmd["method"] == "Authenticate" and "tag" not in cmd
    assert cmd["user_id"] == 1 and cmd["nonce"] == "8IyYyvH9gujOqYJdv/BP0A=="
    assert verify(key.public_key(), 1, SERVER_NONCE, CLIENT_NONCE, cmd["signature"])
    assert authenticate_command(1, "c", key, SERVER_NONCE, tag=7)["tag"] == 7


def test_private_key_repr_hides_the_secret():
    key = derive_private_key(1, "opensesame")
    assert "b89ea7" not in repr(key).lower() and "hidden" in repr(key)


@given(st.integers(min_value=0, max_value=2**224 - 1))
def test_component_round_trip_is_28_bytes(n):
    text = encode_component(n)
    assert len(base64.b64decode(text)) == 28 and decode_component(text) == n


@given(
    st.integers(min_value=1, max_value=2**40),
    st.text(max_size=30),
    st.binary(min_size=16, max_size=16),
)
def test_sign_verify_round_trip(user_id, passphrase, nonce):
    key = derive_private_key(user_id, passphrase)
    sig = sign(key, user_id, nonce, CLIENT_NONCE)
    assert verify(key.public_key(), user_id, nonce, CLIENT_NONCE, sig)


def _search_short_r_signature() -> tuple[bytes, int, int]:
    """A client nonce whose deterministic signature has r below 2**216 (a leading zero byte)."""
    key = derive_private_key(1, "opensesame")
    for i in range(5000):
        nonce = i.to_bytes(16, "big")
        r, s = (decode_component(c) for c in sign(key, 1, SERVER_NONCE, nonce))
        if r < 2**216:
            return nonce, r, s
    raise AssertionError("no short r in 5000 tries")  # about 1 in 256 per try


def test_verify_accepts_unpadded_and_sign_padded_components():
    # Coinfloor's Java library strips leading zeros without padding; others add a sign byte
    pub = derive_private_key(1, "opensesame").public_key()
    nonce, r, s = _search_short_r_signature()
    short_r = base64.b64encode(r.to_bytes((r.bit_length() + 7) // 8, "big")).decode()
    assert len(base64.b64decode(short_r)) < 28
    signed_s = base64.b64encode(b"\x00" + s.to_bytes(28, "big")).decode()
    assert verify(pub, 1, SERVER_NONCE, nonce, [short_r, encode_component(s)])
    assert verify(pub, 1, SERVER_NONCE, nonce, [encode_component(r), signed_s])


@pytest.mark.parametrize(
    "raw", [b"", b"\x01" + bytes(28), bytes(30)], ids=["empty", "29-no-zero", "30"]
)
def test_decode_component_rejects_bad_lengths(raw):
    with pytest.raises(ValueError, match="1 to 28 bytes"):
        decode_component(base64.b64encode(raw).decode())
