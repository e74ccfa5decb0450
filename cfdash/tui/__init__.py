"""The Textual dashboard.

``app.DashboardApp`` reads everything through the ``source.DataSource`` seam (plain wire
integers in, ``OrderRequest`` out); ``fake.FakeSource`` is an in-memory implementation for tests
and demos. Widgets live in ``widgets/``, modal screens in ``screens/``, the layout in
``cfdash.tcss`` next to this file.
"""
