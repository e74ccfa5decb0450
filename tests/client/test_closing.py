"""``closing``: what the client answers to a server's close frame, and the codes it fails with
(RFC 6455 5.5.1, 7.1.5, 7.4). Sans I/O: no sockets, no threads."""

from __future__ import annotations

import pytest

from cfdash.client.closing import (
    INVALID_DATA,
    NORMAL,
    PROTOCOL_ERROR,
    TOO_BIG,
    InvalidUTF8,
    PeerClose,
    close_payload,
    failure_code,
    parse_close,
    valid_code,
)
from cfdash.client.frames import FrameTooLarge
from cfdash.core.errors import ProtocolError

VALID = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999]
VALID += [4000, 4999]
INVALID = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]


def wire(code: int, reason: bytes = b"") -> bytes:
    return code.to_bytes(2, "big") + reason


@pytest.mark.parametrize("code", VALID)
def test_a_valid_code_is_echoed(code: int) -> None:
    close = parse_close(wire(code, b"bye"))
    assert close == PeerClose(code, "bye", code)
    assert valid_code(code)


@pytest.mark.parametrize("code", INVALID)
def test_a_code_that_may_not_be_sent_is_a_protocol_error(code: int) -> None:
    close = parse_close(wire(code, "é".encode()))
    assert close.reply == PROTOCOL_ERROR
    assert close.code == code and close.reason == "é"  # still reported as received
    assert close.error == f"code {code} may not be sent"
    assert not valid_code(code)


def test_an_empty_payload_is_answered_normally() -> None:
    assert parse_close(b"") == PeerClose(None, None, NORMAL)


def test_a_one_byte_payload_is_a_protocol_error() -> None:
    close = parse_close(b"\x03")
    assert (close.code, close.reason, close.reply) == (None, None, PROTOCOL_ERROR)
    assert close.error is not None and "1-byte" in close.error


@pytest.mark.parametrize("reason", [b"\xff", b"ok \xc3", b"\xed\xa0\x80", b"\xc0\xaf"])
def test_a_reason_that_is_not_utf8_is_invalid_data(reason: bytes) -> None:
    close = parse_close(wire(1001, reason))
    assert close.reply == INVALID_DATA
    assert close.code == 1001 and close.reason == reason.decode("utf-8", "replace")
    assert close.error == "the reason is not valid UTF-8"


def test_a_bad_code_wins_over_a_bad_reason() -> None:
    """The code comes first on the wire, and is checked first."""
    assert parse_close(wire(1005, b"\xff")).reply == PROTOCOL_ERROR


def test_a_long_utf8_reason_is_accepted() -> None:
    reason = "€" * 41  # 123 bytes: the most a control frame leaves for it
    assert parse_close(wire(4000, reason.encode())) == PeerClose(4000, reason, 4000)


@pytest.mark.parametrize(
    ("close", "stopping", "outcome"),
    [
        (PeerClose(1000, "", 1000), False, None),
        (PeerClose(1001, "going away", 1001), False, "closed by server (1001)"),
        (PeerClose(None, None, 1000), False, "closed by server (None)"),
        (PeerClose(1001, "", 1001), True, None),  # the client asked for the close
        (parse_close(b"\x03"), True, None),
    ],
)
def test_outcome(close: PeerClose, stopping: bool, outcome: str | None) -> None:
    assert close.outcome(stopping) == outcome


def test_a_bad_frame_is_an_outcome_of_its_own() -> None:
    outcome = parse_close(wire(1005)).outcome(stopping=False)
    assert outcome == "closed by server with a bad close frame: code 1005 may not be sent"


def test_close_payload() -> None:
    assert close_payload() == b"\x03\xe8"
    assert close_payload(1002) == b"\x03\xea"
    assert close_payload(4000, "bye") == b"\x0f\xa0bye"
    # Cut to fit a control frame (125 bytes), never inside a character.
    long = close_payload(1000, "€" * 50)
    assert len(long) == 2 + 123 and long[2:].decode("utf-8") == "€" * 41
    cut = close_payload(1000, "a" + "€" * 50)  # 1 + 3k: the cut falls inside a character
    assert len(cut) == 2 + 121 and cut[2:].decode("utf-8") == "a" + "€" * 40
    with pytest.raises(ValueError):
        close_payload(70000)


def test_each_payload_round_trips() -> None:
    for code in VALID:
        assert parse_close(close_payload(code, "x")) == PeerClose(code, "x", code)


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (FrameTooLarge("too big"), TOO_BIG),
        (InvalidUTF8("bad text"), INVALID_DATA),
        (ProtocolError("reserved bits"), PROTOCOL_ERROR),
    ],
)
def test_failure_code(exc: BaseException, code: int) -> None:
    assert failure_code(exc) == code
