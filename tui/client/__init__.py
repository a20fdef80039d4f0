"""The API client of docs/api.md: HTTP calls (:mod:`tui.client.http`), its errors, typed
results, token store, streams, transfers, the one job flow (:mod:`tui.client.flow`), the
remembered sessions, and the launcher of the embedded backend (:mod:`tui.client.local_server`).

Headless: no Textual and nothing of the app, so the folder watcher and scripts use it too.
"""
