"""The Dask workers' channel: messages of a connection that shows the scan's token arrive
in order; a connection with another token is closed unread."""

from __future__ import annotations

import queue

import pytest

from vigil.pipeline.tcp_channel import Sender, TcpChannel


def test_token_holders_are_heard_and_others_are_not() -> None:
    channel = TcpChannel("127.0.0.1")
    try:
        stranger = Sender(channel.address, b"x" * len(channel.token))
        stranger.put({"batch": "forged"})
        worker = Sender(channel.address, channel.token)
        for n in range(3):
            worker.put({"batch": n})
        assert [channel.get(timeout=10) for _ in range(3)] == [{"batch": n} for n in range(3)]
        with pytest.raises(queue.Empty):
            channel.get(timeout=0.5)
        worker.close()
        stranger.close()
    finally:
        channel.close()
