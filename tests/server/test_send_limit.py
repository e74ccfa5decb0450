"""The per-connection send limit counts every byte the server holds for a reader."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from cfdash.server.app import CLOSE_SLOW, _Peer


async def test_the_limit_counts_what_the_transport_still_holds() -> None:
    ended: list[int] = []
    closes: list[int] = []
    server = SimpleNamespace(send_limit=1000, close_timeout=1.0, _end_session=ended.append)
    transport = SimpleNamespace(buffered=0, abort=lambda: None)
    transport.get_write_buffer_size = lambda: transport.buffered

    async def close(code: int, reason: str) -> None:
        closes.append(code)

    peer = _Peer(server, 5, SimpleNamespace(transport=transport, close=close))  # type: ignore[arg-type]
    peer.send("x" * 600)
    assert not peer.closing and peer.queued == 600
    # the writer handed an earlier batch to a transport that cannot drain (a stalled reader):
    # 600 queued + 500 buffered is over the limit, though the queue alone is not
    transport.buffered = 500
    peer.send("y" * 10)
    assert peer.closing and peer.queued == 0 and ended == [5]
    for _ in range(100):  # the close frame goes out from a task of its own
        if closes:
            break
        await asyncio.sleep(0.01)
    assert closes == [CLOSE_SLOW]
    peer.send("z")  # a closing peer takes nothing more
    assert peer.queued == 0
