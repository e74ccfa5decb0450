"""``cfdash ssh``: the dashboard served to SSH clients (issue 14).

``cli`` parses the command and runs ``server.SSHDashboardServer`` (asyncssh: public-key auth
from an authorized_keys file, a kept host key, a cap on sessions); each session with a pty is a
``session.DashboardSession``, which runs a child ``cfdash`` (``child``) on a pty of its own and
pumps bytes between it and the SSH channel. A crashing dashboard ends its session only.
"""
