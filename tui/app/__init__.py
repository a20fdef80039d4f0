"""The Textual app: the wiring (:mod:`tui.app.app`, with :func:`~tui.app.app.make_app`), the
app's work by responsibility (:mod:`tui.app.jobs`, :mod:`tui.app.editing`,
:mod:`tui.app.folder_watch`), its connection to the backend (:mod:`tui.app.connection`),
messages, keys, commands, and the panes and dialogs it shows.

The app reaches the backend only through :mod:`tui.client`; importing it loads no media or
model library.
"""
