"""The four panes of the app, one module each."""
