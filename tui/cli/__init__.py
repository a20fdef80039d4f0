"""The ``reelscript`` command: the group and its options (:mod:`tui.cli.main`), the shared
option handling (:mod:`tui.cli.options`) and the subcommands that run without a server
(:mod:`tui.cli.transcribe`, :mod:`tui.cli.voices`).  ``python -m tui.cli`` runs it too.

Importing this package loads nothing heavy: each command imports what it needs when it runs.
"""
