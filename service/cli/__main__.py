"""``python -m service.cli``: the ``commentgate`` command."""

from service.cli import main

main()
