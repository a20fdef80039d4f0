"""``python -m tui.cli``: the ``reelscript`` command, as the console script runs it."""

from tui.cli.main import main

main()
