"""What the tests share, one copy each.

- :mod:`tests.support.wait`: ``wait_until`` (a thread polls a condition) and ``until`` (the
  dashboard runs under Textual's pilot until a condition holds).
- :mod:`tests.support.servers`: ``Client`` (a plain WebSocket client for the embedded
  exchange), ``start_exchange``, ``free_port``.
- :mod:`tests.support.scripted`: ``ScriptedServer``, a scripted fake exchange for the client.
- :mod:`tests.support.processes`: ``ServeProcess`` (``cfdash serve`` as a child process),
  ``run_cfdash`` and ``start_cfdash``.
- :mod:`tests.support.fixtures`: the ``make_exchange`` and ``wsclients`` fixtures.
"""
