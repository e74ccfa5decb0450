"""The Textual dashboard.

``app.DashboardApp`` reads everything through the ``source.DataSource`` seam (plain wire
integers in, ``OrderRequest`` out); ``live.ClientSource`` implements it on ``WSClient``, and
``main`` builds the whole thing for ``cfdash [URL]`` (on the embedded exchange by default).
Widgets live in ``widgets/``, modal screens in ``screens/``, the layout in ``cfdash.tcss`` next
to this file.
"""
