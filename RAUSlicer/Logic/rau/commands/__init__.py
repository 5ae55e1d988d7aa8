"""Subcommands of the ``rau`` CLI, one module each."""
