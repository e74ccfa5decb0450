"""The Textual dashboard.

``app.DashboardApp`` reads everything through the ``source.DataSource`` seam (plain wire
integers in, ``OrderRequest`` out) and keeps what is app-wide (keys, actions, dialogs,
notifications); ``screens.dashboard.DashboardScreen`` composes the panels and applies each
``Batch`` to them. ``live.ClientSource`` implements the seam on ``WSClient``: ``batches``
turns the client's views into display rows (sans-I/O), ``worker`` runs the requests off the UI
thread and ``bridge`` coalesces the updates. ``main`` builds the whole thing for
``cfdash [URL]`` (on the embedded exchange by default; ``live_app.LiveDashboard`` adds what a
terminal program needs). Widgets live in ``widgets/``, screens in ``screens/``, the layout in
``cfdash.tcss`` next to this file.
"""
