"""Test clients for the embedded exchange and a runner for ``python -m cfdash serve``: they live
in :mod:`tests.support`; the old names still work."""

from tests.support.processes import LISTENING, ServeProcess
from tests.support.servers import BCH, GBP, XBT, XBT_GBP, Client, Message

__all__ = ["BCH", "GBP", "LISTENING", "XBT", "XBT_GBP", "Client", "Message", "ServeProcess"]
